// Runs one export job: one type at a time, page by page through the same search code as every
// search (the caller's access conditions in each query, keyset paging), each page written as one
// segment of the type's NDJSON file, and the progress (the next page's position and the files so
// far) recorded after every page. A run that stops anywhere — crash, lost lease, cancel — is
// resumed from the last recorded page: what it wrote after that is removed, never repeated.
// Consistency: only resources whose current version was written at or before transactionTime
// (and after _since) are exported; one changed later waits for the next _since export.
// See: https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status
import type { Bundle, FhirResource, OperationOutcome } from 'fhir/r4';
import type { Document } from 'mongodb';
import { parseScopes } from '../../access/smart-scopes.ts';
import { and } from '../search/compile/compile-criteria.ts';
import { decodeQueryParams } from '../request-url.ts';
import { OperationOutcomeError, issue, outcome } from '../outcome.ts';
import type { FhirServices } from '../router/services.ts';
import type { AccessContext, FhirRequest } from '../types.ts';
import { segmentIdOf, type ExportFileStore } from './export-file-store.ts';
import type { ExportJobDocument, ExportOutput, ExportParameters, ExportProgress } from './export-job.ts';
import type { ExportJobs } from './export-jobs.ts';
import { deletedPage } from './export-deleted.ts';

export interface ExportRunDependencies {
  services: FhirServices;
  jobs: ExportJobs;
  files: ExportFileStore;
  pageSize: number;
  fileMaxBytes: number;
  leaseMs: number;
  keepMs: number;
}

/** How a run ended: finished, or stopped because the job is no longer this worker's (or the server stops). */
export type RunEnd = 'completed' | 'stopped';

/** The access context of the client that started the job, with the scopes its token had. */
export function jobContext(job: ExportJobDocument): AccessContext {
  return {
    requestId: `bulk-export-${job._id}`,
    principal: { kind: 'system', clientId: job.clientId },
    clientId: job.clientId,
    grant: parseScopes(job.scope),
  };
}

/** The patients' compartments condition of Patient- and Group-level exports. */
function patientsCondition(type: string, patients: ExportParameters['patients']): Document | undefined {
  if (patients === undefined) return undefined;
  if (patients === 'any') return type === 'Patient' ? undefined : { patient: { $exists: true } };
  if (type === 'Patient') return { _id: { $in: patients } };
  return { $or: [{ patient: { $in: patients } }, { patients: { $in: patients } }] };
}

/** _elements for one type: plain names apply to every type, Type.name to that type. */
function elementsFor(type: string, elements: string[] | undefined): string[] {
  const names: string[] = [];
  for (const e of elements ?? []) {
    const dot = e.indexOf('.');
    if (dot < 0) names.push(e);
    else if (e.slice(0, dot) === type) names.push(e.slice(dot + 1));
  }
  return names;
}

const cursorOf = (bundle: Bundle): string | undefined => {
  const next = bundle.link?.find((l) => l.relation === 'next')?.url;
  return next ? (new URL(next).searchParams.get('_cursor') ?? undefined) : undefined;
};

export async function runExport(deps: ExportRunDependencies, job: ExportJobDocument, lease: string, stopping: () => boolean): Promise<RunEnd> {
  const { services, jobs, files } = deps;
  const search = services.search;
  if (!search) throw new OperationOutcomeError(500, [issue('fatal', 'not-supported', 'Export needs search, which is not available')]);
  const ctx = jobContext(job);
  await services.access.prepare(ctx);
  const progress: ExportProgress = structuredClone(job.progress);
  // What an earlier run wrote after its last recorded page is not part of the export.
  const recorded = new Set(progress.outputs.flatMap((o) => o.segments.map((s) => s.id)));
  await files.removeJob(job._id, recorded);

  const p = job.parameters;
  const until = p.until && p.until < job.transactionTime ? p.until : job.transactionTime;
  const window: Document = p.since ? { ts: { $gt: p.since, $lte: until } } : { ts: { $lte: until } };
  const request: FhirRequest = { method: 'GET', path: '$export', params: [], headers: {} };
  let sequence = 0;

  /** The file a page of `type` goes into: the type's last one, unless it is full. */
  const outputFor = (type: string, kind?: 'error' | 'deleted'): ExportOutput => {
    const last = [...progress.outputs].reverse().find((o) => o.type === type && Boolean(o.error) === (kind === 'error') && Boolean(o.deleted) === (kind === 'deleted'));
    if (last && last.bytes < deps.fileMaxBytes) return last;
    const created: ExportOutput = { type, count: 0, bytes: 0, segments: [] };
    if (kind) created[kind] = true;
    progress.outputs.push(created);
    return created;
  };

  /** Writes lines to a file and records the page; false when the job is no longer ours. */
  const writePage = async (output: ExportOutput | undefined, lines: string[]): Promise<boolean> => {
    let written: string | undefined;
    if (output && lines.length > 0) {
      const data = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      written = segmentIdOf(job._id, lease, sequence++);
      await files.write(job._id, written, data);
      output.segments.push({ id: written, bytes: data.length });
      output.count += lines.length;
      output.bytes += data.length;
      if (!output.error && !output.deleted) progress.exported += lines.length;
    }
    if (await jobs.recordProgress(job._id, lease, progress, deps.leaseMs)) return true;
    if (written) await files.remove(written);
    return false;
  };

  /** The lines of the error file for a type the search refused (a 4xx: the same run would fail again). */
  const refusal = (type: string, err: unknown): string[] => {
    if (!(err instanceof OperationOutcomeError) || err.status >= 500) throw err;
    const oo: OperationOutcome = outcome(err.outcome.issue.map((i) => ({ ...i, diagnostics: `${type}: ${i.diagnostics ?? i.code}` })));
    return [JSON.stringify(oo)];
  };

  for (let step = progress.step; step < p.types.length; step++) {
    const type = p.types[step];
    const elements = elementsFor(type, p.elements);
    let condition: Document | undefined;
    let lines: string[] = [];
    try {
      let typeFilter: Document | undefined;
      const filters = p.typeFilters?.[type];
      if (filters && filters.length > 0) {
        const compiled = await Promise.all(filters.map((q) => search.compileConditions(type, decodeQueryParams(q), ctx)));
        typeFilter = compiled.length === 1 ? compiled[0] : { $or: compiled };
      }
      condition = and([window, patientsCondition(type, p.patients), typeFilter]);
    } catch (err) {
      lines = refusal(type, err);
    }
    while (condition) {
      if (stopping()) return 'stopped';
      const params: Array<[string, string]> = [['_count', String(deps.pageSize)], ['_total', 'none']];
      if (progress.cursor) params.push(['_cursor', progress.cursor]);
      if (elements.length > 0) params.push(['_elements', elements.join(',')]);
      let output: ExportOutput | undefined;
      let next: string | undefined;
      try {
        const page = await search.prepared(request, ctx, { types: [type], params, linkParams: [], path: '$export', conditions: { [type]: condition } });
        const bundle = page.body as Bundle;
        const resources = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as FhirResource);
        lines = resources.map((r) => JSON.stringify(r));
        output = lines.length > 0 ? outputFor(type) : undefined;
        next = cursorOf(bundle);
      } catch (err) {
        // A type the search refuses (a page beyond its time budget, a _typeFilter chain that now
        // matches too much) goes to the error file; the other types are still exported.
        lines = refusal(type, err);
        output = outputFor('OperationOutcome', 'error');
      }
      progress.cursor = next;
      if (!next) {
        progress.step = step + 1;
        delete progress.cursor;
      }
      if (!(await writePage(output, lines))) return 'stopped';
      if (!next) break;
    }
    if (!condition) {
      // The type's _typeFilter could not be compiled: its refusal is the type's only line.
      progress.step = step + 1;
      delete progress.cursor;
      if (!(await writePage(outputFor('OperationOutcome', 'error'), lines))) return 'stopped';
    }
  }
  // A _since export also lists what was deleted in its window (deleted[] of the manifest).
  while (p.since && progress.step === p.types.length) {
    if (stopping()) return 'stopped';
    const page = await deletedPage(services, ctx, job, progress.cursor, deps.pageSize);
    progress.cursor = page.next;
    if (!page.next) {
      progress.step++;
      delete progress.cursor;
    }
    if (!(await writePage(page.lines.length > 0 ? outputFor('Bundle', 'deleted') : undefined, page.lines))) return 'stopped';
  }
  return (await jobs.complete(job._id, lease, progress, deps.keepMs)) ? 'completed' : 'stopped';
}
