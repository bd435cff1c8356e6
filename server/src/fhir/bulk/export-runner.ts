// Runs one export job: one type at a time, page by page through the same search code as every
// search (the caller's access conditions in each query, keyset paging; on FerretDB inside id
// ranges, export-ranges.ts), about a page at a time written as one segment of the type's NDJSON
// file (with the directory resources the page points to, at Patient and Group level), and the
// progress (the next page's position and the files so far) recorded after each such write. A run that stops anywhere — crash, lost lease, cancel — is
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
import type { ExportFileStore } from './export-file-store.ts';
import type { ExportJobDocument, ExportParameters } from './export-job.ts';
import type { ExportJobs } from './export-jobs.ts';
import { deletedPage } from './export-deleted.ts';
import { DirectoryIncludes } from './export-directory.ts';
import { ExportWriter, type PagePart } from './export-writer.ts';
import { idBounds, rangeCondition } from './export-ranges.ts';

export interface ExportRunDependencies {
  services: FhirServices;
  jobs: ExportJobs;
  files: ExportFileStore;
  pageSize: number;
  fileMaxBytes: number;
  leaseMs: number;
  keepMs: number;
  /** Read each type in id ranges (export-ranges.ts): on FerretDB, where keyset pages over a whole type cost the whole type. */
  idRanges: boolean;
  /** Whether the OAuth client that started a job is still registered (a removed client's jobs end). */
  clientExists(clientId: string): Promise<boolean>;
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
  /** A client removed since the kick-off gets nothing more exported (its tokens ended with it too). */
  const assertClient = async () => {
    if (!(await deps.clientExists(job.clientId))) {
      throw new OperationOutcomeError(403, [issue('error', 'forbidden', 'The client that started this export is no longer registered')]);
    }
  };
  await assertClient();
  await services.access.prepare(ctx);
  const progress = structuredClone(job.progress);
  // What an earlier run wrote after its last recorded page is not part of the export.
  const recorded = new Set(progress.outputs.flatMap((o) => o.segments.map((s) => s.id)));
  await files.removeJob(job._id, recorded);
  const writer = new ExportWriter({ jobId: job._id, lease, jobs, files, fileMaxBytes: deps.fileMaxBytes, leaseMs: deps.leaseMs }, progress);

  const p = job.parameters;
  const until = p.until && p.until < job.transactionTime ? p.until : job.transactionTime;
  const window: Document = p.since ? { ts: { $gt: p.since, $lte: until } } : { ts: { $lte: until } };
  const directory = p.directoryTypes?.length ? new DirectoryIncludes(p.directoryTypes, until) : undefined;
  await directory?.resume(files, (type) => writer.outputsOf(type));
  const request: FhirRequest = { method: 'GET', path: '$export', params: [], headers: {} };

  /** The error file's line for a type the search refused (a 4xx: the same run would fail again). */
  const refusal = (type: string, err: unknown): PagePart => {
    if (!(err instanceof OperationOutcomeError) || err.status >= 500) throw err;
    const oo: OperationOutcome = outcome(err.outcome.issue.map((i) => ({ ...i, diagnostics: `${type}: ${i.diagnostics ?? i.code}` })));
    return { type: 'OperationOutcome', kind: 'error', lines: [JSON.stringify(oo)] };
  };

  const firstStep = progress.step;
  for (let step = firstStep; step < p.types.length; step++) {
    if (step > firstStep) await assertClient();
    const type = p.types[step];
    const elements = elementsFor(type, p.elements);
    let condition: Document | undefined;
    try {
      let typeFilter: Document | undefined;
      const filters = p.typeFilters?.[type];
      if (filters && filters.length > 0) {
        const compiled = await Promise.all(filters.map((q) => search.compileConditions(type, decodeQueryParams(q), ctx)));
        typeFilter = compiled.length === 1 ? compiled[0] : { $or: compiled };
      }
      condition = and([window, patientsCondition(type, p.patients), typeFilter]);
    } catch (err) {
      // The type's _typeFilter cannot be run: its refusal is the type's only line.
      progress.step = step + 1;
      delete progress.cursor;
      if (!(await writer.writePage([refusal(type, err)]))) return 'stopped';
      continue;
    }
    /** Lines read since the last record (the progress already says where they end). */
    let pending: PagePart[] = [];
    if (deps.idRanges && !progress.bounds) {
      progress.bounds = await idBounds(services.repo.db, type, Math.max(1, Math.floor(deps.pageSize / 4)));
      progress.range = 0;
    }
    for (;;) {
      if (stopping()) return 'stopped';
      const params: Array<[string, string]> = [['_count', String(deps.pageSize)], ['_total', 'none']];
      if (progress.cursor) params.push(['_cursor', progress.cursor]);
      if (elements.length > 0) params.push(['_elements', elements.join(',')]);
      const range = progress.bounds ? rangeCondition(progress.bounds, progress.range ?? 0) : undefined;
      let parts: PagePart[];
      let next: string | undefined;
      let failed = false;
      try {
        const page = await search.prepared(request, ctx, {
          types: [type],
          params,
          linkParams: [],
          path: '$export',
          conditions: { [type]: and([condition, range]) },
          include: directory?.include,
        });
        const bundle = page.body as Bundle;
        const entries = bundle.entry ?? [];
        const resources = entries.filter((e) => e.search?.mode === 'match').map((e) => e.resource as FhirResource);
        parts = [{ type, kind: 'resources', lines: resources.map((r) => JSON.stringify(r)) }, ...(directory?.partsOf(entries) ?? [])];
        // Includes cut short by SEARCH_MAX_INCLUDED: the file of errors says which page lost some.
        const cut = entries.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome | undefined;
        const warnings = cut?.issue.filter((i) => i.code === 'too-costly') ?? [];
        if (warnings.length > 0) parts.push({ type: 'OperationOutcome', kind: 'error', lines: [JSON.stringify(outcome(warnings.map((i) => ({ ...i, diagnostics: `${type}: ${i.diagnostics ?? ''}` }))))] });
        next = cursorOf(bundle);
      } catch (err) {
        // A type the search refuses (a page beyond its time budget, a _typeFilter chain that now
        // matches too much) goes to the error file; the other types are still exported.
        parts = [refusal(type, err)];
        failed = true;
      }
      let done = false;
      if (next) progress.cursor = next;
      else {
        delete progress.cursor;
        // The next id range, or the next type when this was the last (or the type failed).
        if (!failed && progress.bounds && (progress.range ?? 0) < progress.bounds.length) progress.range = (progress.range ?? 0) + 1;
        else done = true;
      }
      if (done) {
        progress.step = step + 1;
        delete progress.bounds;
        delete progress.range;
      }
      // Small id ranges are written together, about a page at a time: fewer segments and records.
      pending.push(...parts);
      if (done || pending.reduce((n, part) => n + part.lines.length, 0) >= deps.pageSize) {
        const written = await writer.writePage(pending);
        pending = [];
        if (!written) return 'stopped';
      }
      if (done) break;
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
    if (!(await writer.writePage([{ type: 'Bundle', kind: 'deleted', lines: page.lines }]))) return 'stopped';
  }
  return (await jobs.complete(job._id, lease, progress, deps.keepMs)) ? 'completed' : 'stopped';
}
