// The only FHIR code that knows Express: turns an HTTP request into a FhirRequest, runs the
// interaction, and writes the FhirResponse (or the OperationOutcome of an error) back.
import { clientAddress } from '../../client-address.ts';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../../logger.ts';
import { loggableError } from '../../loggable-error.ts';
import { decodeUtf8, parseFaithfulJson } from '../json/faithful-json.ts';
import { isDatabaseUnavailable } from '../../db/database-unavailable.ts';
import { databaseUnavailable, OperationOutcomeError, issue, outcome } from '../outcome.ts';
import { decodeQueryParams, decodeRequestPath } from '../request-url.ts';
import { param, type AccessContext, type FhirInteraction, type FhirMethod, type FhirRequest, type FhirResponse } from '../types.ts';
import { bodyReaderFailure } from './body-reader-errors.ts';
import { assertAcceptsJson, assertUtf8Charset, BODY_TYPES, mediaTypeOf } from './content-negotiation.ts';
import { isLargeBody, jsonPieces } from './json-text.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** Retry-After of a 503 while the database is unreachable: about how long a restart or failover takes. */
const DATABASE_RETRY_AFTER_SECONDS = 5;
const FORWARDED_HEADERS = ['accept', 'if-match', 'if-none-exist', 'if-none-match', 'if-modified-since', 'prefer'];

export interface FhirHttpOptions {
  interaction: FhirInteraction;
  maxBodyBytes: number;
  /** Deepest nesting of a JSON body (config.maxJsonDepth), checked before it is parsed. */
  maxJsonDepth: number;
  log: Logger;
  /**
   * Who is asking: checks the request's access token (auth/bearer-tokens.ts) and throws a 401
   * OperationOutcomeError when it is missing or not valid. Without it every request is anonymous.
   */
  authenticate?: (authorization: string | undefined, requestId: string) => Promise<AccessContext>;
  /**
   * Headers every response carries (the app's security headers), as a flat list of names and
   * values. Written with the response's own headers and the request id in one writeHead.
   */
  commonHeaders?: readonly string[];
  /** The request comes through a trusted proxy (config.trustProxy): its X-Forwarded-For counts. */
  trustProxy?: boolean;
}

function queryParams(originalUrl: string): Array<[string, string]> {
  const q = originalUrl.indexOf('?');
  return q < 0 ? [] : decodeQueryParams(originalUrl.slice(q + 1));
}

function parseBody(raw: Buffer | undefined, contentTypeHeader: string | undefined, maxJsonDepth: number): unknown {
  if (!raw || raw.length === 0) return undefined;
  const contentType = mediaTypeOf(contentTypeHeader);
  if (!contentType) {
    throw new OperationOutcomeError(415, [issue('error', 'not-supported', 'A request body needs a Content-Type, e.g. application/fhir+json')]);
  }
  if (!BODY_TYPES.has(contentType)) {
    throw new OperationOutcomeError(415, [
      issue('error', 'not-supported', `Content-Type ${contentType.slice(0, 60)} is not supported; send application/fhir+json`),
    ]);
  }
  assertUtf8Charset(contentTypeHeader);
  // Refused rather than decoded with U+FFFD in place of what was sent (see faithful-json.ts).
  const text = decodeUtf8(raw);
  if (contentType === 'application/x-www-form-urlencoded') return decodeQueryParams(text, 'The form body');
  return parseFaithfulJson(text, maxJsonDepth);
}

function toFhirRequest(req: Request, maxJsonDepth: number): FhirRequest {
  const headers: FhirRequest['headers'] = {};
  for (const name of FORWARDED_HEADERS) {
    const v = req.headers[name];
    if (typeof v === 'string') headers[name] = v;
  }
  const contentType = mediaTypeOf(req.headers['content-type']);
  const params = queryParams(req.originalUrl);
  let body = parseBody(Buffer.isBuffer(req.body) ? req.body : undefined, req.headers['content-type'], maxJsonDepth);
  // POST [type]/_search carries its parameters as a form: they join the query's.
  // See: https://hl7.org/fhir/R4/http.html#search
  if (contentType === 'application/x-www-form-urlencoded') {
    if (!/\/_search\/?$/.test(req.path)) {
      throw new OperationOutcomeError(415, [issue('error', 'not-supported', 'Form bodies are accepted only by _search')]);
    }
    // One by one: a spread of a huge form (100,000+ pairs) would overflow the stack.
    for (const pair of body as Array<[string, string]>) params.push(pair);
    body = undefined;
  }
  const path = decodeRequestPath(req.path);
  return { method: req.method as FhirMethod, path, params, headers, body, contentType };
}

/** Set by the app's request-id middleware. */
export const requestIdOf = (res: Response): string => String(res.locals.requestId ?? '-');

/**
 * Writes the response: all headers in one writeHead (the common ones, the request id, the
 * interaction's, the body's), then the body as one string, so that Node sends headers and body in
 * one write. Setting a dozen headers one by one with setHeader cost a twentieth of the server's
 * CPU per small search. Express's res.send would only repeat the work (ETags are ours).
 * A large body (a long Bundle) is serialised in slices and written in pieces (json-text.ts), so
 * that other requests are served meanwhile.
 */
async function send(res: Response, req: Request, result: FhirResponse, pretty: boolean, commonHeaders: readonly string[]): Promise<void> {
  const headers = [...commonHeaders, 'X-Request-Id', requestIdOf(res)];
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.push(name, value);
  if (result.body === undefined || result.status === 204 || result.status === 304) {
    res.writeHead(result.status, headers).end();
    return;
  }
  const pieces = isLargeBody(result.body)
    ? await jsonPieces(result.body, pretty)
    : [JSON.stringify(result.body, null, pretty ? 2 : undefined)];
  let length = 0;
  for (const piece of pieces) length += Buffer.byteLength(piece);
  headers.push('Content-Type', FHIR_JSON, 'Content-Length', String(length));
  res.writeHead(result.status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  for (let i = 0; i < pieces.length - 1; i++) res.write(pieces[i], 'utf8');
  res.end(pieces[pieces.length - 1], 'utf8');
}

export function errorResponse(err: unknown, log: Logger, requestId: string): FhirResponse {
  if (err instanceof OperationOutcomeError) return { status: err.status, body: err.outcome, headers: err.headers };
  if (isDatabaseUnavailable(err)) {
    // The database is down or restarting: a client should retry, not report a bug.
    log.warn({ requestId, err: { name: (err as Error).name } }, 'database unavailable');
    const unavailable = databaseUnavailable();
    return { status: unavailable.status, headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) }, body: unavailable.outcome };
  }
  // Unexpected: log what the error is and where it happened, never its message (database errors
  // quote the values they refused), and answer without internals.
  log.error({ requestId, err: loggableError(err) }, 'unhandled error');
  return {
    status: 500,
    body: outcome([issue('fatal', 'exception', `Internal error; quote request id ${requestId} when reporting it`)]),
  };
}

/**
 * The FHIR endpoint as one Express handler (mounted at /fhir): reads the body when there is one,
 * runs the interaction, writes the response. One function rather than a Router of middlewares,
 * because every layer costs each request a pass through Express's router.
 */
export function createFhirHttpHandler(options: FhirHttpOptions): RequestHandler {
  const commonHeaders = options.commonHeaders ?? [];
  const corsHeaders = [...commonHeaders, ...CORS_HEADERS];
  const readBody = express.raw({ type: () => true, limit: options.maxBodyBytes });

  /** The caller: anonymous for the open endpoints (the CapabilityStatement), else from the token. */
  const callerOf = (req: Request, requestId: string): Promise<AccessContext> | AccessContext => {
    const open = /^\/metadata\/?(\?|$)/.test(req.url) && (req.method === 'GET' || req.method === 'HEAD');
    if (open || !options.authenticate) return { requestId, principal: { kind: 'anonymous' } };
    return options.authenticate(req.headers.authorization, requestId);
  };

  const handle = async (req: Request, res: Response, ctx: AccessContext, headers: readonly string[]): Promise<void> => {
    const pretty = /[?&]_pretty=true(&|$)/.test(req.originalUrl);
    let result: FhirResponse;
    try {
      const fhirReq = toFhirRequest(req, options.maxJsonDepth);
      assertAcceptsJson(param(fhirReq, '_format'), req.headers.accept);
      result = await options.interaction(fhirReq, ctx);
    } catch (err) {
      result = errorResponse(err, options.log, requestIdOf(res));
    }
    await send(res, req, result, pretty, headers);
  };

  return (req, res) => {
    // Browser apps on other origins: a CORS preflight, and CORS headers on every answer.
    // See: https://hl7.org/fhir/smart-app-launch/app-launch.html (browser-based apps)
    const cross = req.headers.origin !== undefined;
    const headers = cross ? corsHeaders : commonHeaders;
    if (req.method === 'OPTIONS' && cross) {
      res.writeHead(204, [...headers, ...PREFLIGHT_HEADERS, 'X-Request-Id', requestIdOf(res)]).end();
      return;
    }
    void (async () => {
      let ctx: AccessContext;
      try {
        // The token is checked before a body is read: a caller without one sends nothing further.
        ctx = await callerOf(req, requestIdOf(res));
        // From where, for the audit trail (the trusted proxy's X-Forwarded-For when configured).
        ctx.address = clientAddress(req, options.trustProxy ?? false);
      } catch (err) {
        await send(res, req, errorResponse(err, options.log, requestIdOf(res)), false, headers);
        return;
      }
      // Requests without a body (most: reads and searches) skip the body reader altogether.
      if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
        await handle(req, res, ctx, headers);
        return;
      }
      readBody(req, res, (err?: unknown) => {
        // The body reader's 4xx (too large, bad Content-Encoding, aborted upload) are the client's.
        if (err) void send(res, req, bodyReaderFailure(err) ?? errorResponse(err, options.log, requestIdOf(res)), false, headers);
        else void handle(req, res, ctx, headers);
      });
    })();
  };
}

/** Any origin may call the API: it is protected by bearer tokens, not by cookies. */
export const CORS_HEADERS = [
  'Access-Control-Allow-Origin',
  '*',
  'Access-Control-Expose-Headers',
  'Location, Content-Location, ETag, Last-Modified, X-Request-Id, X-Progress, Retry-After, WWW-Authenticate, Expires, Content-Range',
];
export const PREFLIGHT_HEADERS = [
  'Access-Control-Allow-Methods',
  'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers',
  'Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, X-Request-Id',
  'Access-Control-Max-Age',
  '600',
];
