// The HTTP side of Bulk Data export that is not a FHIR interaction: the status URL (GET: progress
// or the manifest, as application/json; DELETE: cancel) and the file downloads (NDJSON, streamed,
// with byte ranges so an interrupted download resumes, gzip when the client accepts it). Both
// need a token of the client that started the export (requiresAccessToken).
// See: https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request
// and https://hl7.org/fhir/uv/bulkdata/export.html#file-request; RFC 9110 §14 for ranges.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../logger.ts';
import type { AuditRecorder } from '../../audit/audit-record.ts';
import { actorOf, auditUnavailable } from '../../audit/audited-interaction.ts';
import { clientAddress } from '../../client-address.ts';
import { loggableError } from '../../loggable-error.ts';
import type { BulkExport } from '../bulk/bulk-export.ts';
import type { ExportFileStore } from '../bulk/export-file-store.ts';
import type { ExportOutput } from '../bulk/export-job.ts';
import { cancelExport, exportFile, exportStatus } from '../bulk/export-status.ts';
import { methodNotAllowed, notFound } from '../outcome.ts';
import type { AccessContext } from '../types.ts';
import { CORS_HEADERS, errorResponse, PREFLIGHT_HEADERS, requestIdOf } from './fhir-http-handler.ts';

export interface BulkExportHttpOptions {
  bulk: BulkExport;
  fhirBase: string;
  authenticate: (authorization: string | undefined, requestId: string) => Promise<AccessContext>;
  log: Logger;
  audit: AuditRecorder;
  commonHeaders: readonly string[];
  /** Requests come through a trusted proxy (config.trustProxy): its X-Forwarded-For counts. */
  trustProxy: boolean;
}

const JOB_ID = /^[0-9a-f]{32}$/;

/** The client asking: only a backend client can own an export. */
function clientOf(ctx: AccessContext): string {
  if (ctx.principal.kind !== 'system') throw notFound('There is no such export');
  return ctx.principal.clientId;
}

/** A single byte range of a `length`-byte file ([start, end)), 'unsatisfiable', or undefined (the whole file). */
export function byteRange(header: string | undefined, length: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  // Several ranges, or another unit: RFC 9110 lets a server answer with the whole file.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, length - suffix);
    end = length;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? length : Math.min(Number(m[2]) + 1, length);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= length) return 'unsatisfiable';
  return { start, end };
}

/** The bytes [start, end) of a file made of segments, one segment stream after another. */
async function* fileBytes(files: ExportFileStore, file: ExportOutput, start: number, end: number): AsyncGenerator<Buffer> {
  let offset = 0;
  for (const segment of file.segments) {
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + segment.bytes);
    if (from < to) for await (const chunk of files.read(segment.id, from - offset, to - offset)) yield chunk as Buffer;
    offset += segment.bytes;
    if (offset >= end) return;
  }
}

export function createBulkExportHttpHandler(options: BulkExportHttpOptions): RequestHandler {
  // Browser-based Bulk Data clients on other origins: CORS as on the rest of the FHIR API.
  const withCors = { ...options, commonHeaders: [...options.commonHeaders, ...CORS_HEADERS] };
  const handlers = { plain: bulkHandler(options), cors: bulkHandler(withCors) };
  return (req, res, next) => {
    if (req.headers.origin === undefined) return handlers.plain(req, res, next);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, [...withCors.commonHeaders, ...PREFLIGHT_HEADERS, 'X-Request-Id', requestIdOf(res)]).end();
      return;
    }
    return handlers.cors(req, res, next);
  };
}

function bulkHandler(o: BulkExportHttpOptions): RequestHandler {
  const json = (res: Response, status: number, body: unknown, headers: string[] = []) => {
    const text = JSON.stringify(body);
    res
      .writeHead(status, [...o.commonHeaders, 'X-Request-Id', requestIdOf(res), ...headers, 'Content-Length', String(Buffer.byteLength(text))])
      .end(text);
  };
  const fail = (res: Response, err: unknown) => {
    const answer = errorResponse(err, o.log, requestIdOf(res));
    const headers = Object.entries(answer.headers ?? {}).flat();
    json(res, answer.status, answer.body, [...headers, 'Content-Type', 'application/fhir+json; charset=utf-8']);
  };

  const status = async (req: Request, res: Response, jobId: string, clientId: string) => {
    if (req.method === 'DELETE') {
      await cancelExport(o.bulk, jobId, clientId);
      res.writeHead(202, [...o.commonHeaders, 'X-Request-Id', requestIdOf(res)]).end();
      return;
    }
    if (req.method !== 'GET') throw methodNotAllowed('The status URL takes GET (progress, manifest) or DELETE (cancel)');
    const answer = await exportStatus(o.bulk, o.fhirBase, jobId, clientId);
    if (answer.kind === 'in-progress') {
      res.writeHead(202, [...o.commonHeaders, 'X-Request-Id', requestIdOf(res), 'X-Progress', answer.progress, 'Retry-After', String(answer.retryAfter)]).end();
    } else if (answer.kind === 'failed') {
      json(res, answer.status, answer.outcome, ['Content-Type', 'application/fhir+json; charset=utf-8']);
    } else {
      json(res, 200, answer.manifest, ['Content-Type', 'application/json; charset=utf-8', 'Expires', answer.expires.toUTCString(), 'Cache-Control', 'no-store']);
    }
  };

  const download = async (req: Request, res: Response, ctx: AccessContext, jobId: string, index: number) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed('Export files are read with GET');
    const { job, file } = await exportFile(o.bulk, jobId, index, clientOf(ctx));
    // Every download of exported records is in the audit trail, as the kick-off is.
    if (!o.audit.accepting()) throw auditUnavailable();
    o.audit.record({
      kind: 'rest',
      at: new Date(),
      actor: actorOf(ctx),
      requestId: ctx.requestId,
      interaction: 'operation',
      operation: 'export',
      request: `GET bulk-files/${jobId}/${index}.ndjson`,
      resources: [],
      patients: [],
      status: 200,
    });
    const headers = [
      ...o.commonHeaders,
      'X-Request-Id',
      requestIdOf(res),
      'Content-Type',
      'application/fhir+ndjson',
      'Accept-Ranges',
      'bytes',
      // Files never change: the job and the file's position name its bytes.
      'ETag',
      `"${jobId}-${index}"`,
      'Last-Modified',
      (job.completedAt ?? job.createdAt).toUTCString(),
      'Cache-Control',
      'private, no-store',
    ];
    const ifRange = req.headers['if-range'];
    const range = ifRange === undefined || ifRange === `"${jobId}-${index}"` ? byteRange(req.headers.range, file.bytes) : undefined;
    if (range === 'unsatisfiable') {
      res.writeHead(416, [...headers, 'Content-Range', `bytes */${file.bytes}`]).end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? file.bytes;
    const gzip = !range && /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
    if (range) headers.push('Content-Range', `bytes ${start}-${end - 1}/${file.bytes}`, 'Content-Length', String(end - start));
    else if (gzip) headers.push('Content-Encoding', 'gzip', 'Vary', 'Accept-Encoding');
    else headers.push('Content-Length', String(file.bytes), 'Vary', 'Accept-Encoding');
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const source = Readable.from(fileBytes(o.bulk.files, file, start, end));
    try {
      if (gzip) await pipeline(source, createGzip(), res);
      else await pipeline(source, res);
    } catch (err) {
      // Headers are sent: the connection is cut, and the client resumes with a range.
      if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') o.log.warn({ requestId: requestIdOf(res), err: loggableError(err) }, 'export download cut short');
      res.destroy();
    }
  };

  return (req, res) => {
    void (async () => {
      try {
        const [kind, jobId, file, ...rest] = req.originalUrl.split('?')[0].split('/').filter(Boolean).slice(1);
        if (!JOB_ID.test(jobId ?? '')) throw notFound('There is no such export');
        const ctx = await o.authenticate(req.headers.authorization, requestIdOf(res));
        // From where, for the audit trail (the trusted proxy's X-Forwarded-For when configured).
        ctx.address = clientAddress(req, o.trustProxy);
        if (kind === 'bulk-status' && file === undefined) {
          await status(req, res, jobId, clientOf(ctx));
          return;
        }
        const index = /^(\d{1,6})\.ndjson$/.exec(file ?? '')?.[1];
        if (kind !== 'bulk-files' || index === undefined || rest.length > 0) throw notFound('There is no such file');
        await download(req, res, ctx, jobId, Number(index));
      } catch (err) {
        if (res.headersSent) res.destroy();
        else fail(res, err);
      }
    })();
  };
}
