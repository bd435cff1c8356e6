// What the status URL of an export answers, and which file a download URL names, for the client
// that started the job only (to any other caller the job does not exist: 404).
// See: https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request
import type { OperationOutcome } from 'fhir/r4';
import { notFound, OperationOutcomeError, issue } from '../outcome.ts';
import type { BulkExport } from './bulk-export.ts';
import type { ExportJobDocument, ExportOutput } from './export-job.ts';

export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: true;
  output: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: 'OperationOutcome'; url: string; count: number }>;
  /** _since exports: resources deleted since, as transaction Bundles of DELETE entries. */
  deleted?: Array<{ type: 'Bundle'; url: string; count: number }>;
}

export type StatusAnswer =
  | { kind: 'in-progress'; progress: string; retryAfter: number }
  | { kind: 'complete'; manifest: ExportManifest; expires: Date }
  | { kind: 'failed'; status: number; outcome: OperationOutcome };

export const fileUrlOf = (fhirBase: string, jobId: string, index: number) => `${fhirBase}/bulk-files/${jobId}/${index}.ndjson`;

const noSuchJob = () => notFound('There is no such export (it may have expired or been cancelled)');

/** The manifest of a completed job: one entry per file, none for a type that had nothing. */
export function manifestOf(job: ExportJobDocument, fhirBase: string): ExportManifest {
  const entry = (o: ExportOutput, i: number) => ({ type: o.type, url: fileUrlOf(fhirBase, job._id, i), count: o.count });
  const indexed = job.progress.outputs.map((o, i) => ({ o, i }));
  const manifest: ExportManifest = {
    transactionTime: job.transactionTime.toISOString(),
    request: job.request,
    requiresAccessToken: true,
    output: indexed.filter(({ o }) => !o.error && !o.deleted).map(({ o, i }) => entry(o, i)),
    error: indexed.filter(({ o }) => o.error).map(({ o, i }) => ({ ...entry(o, i), type: 'OperationOutcome' as const })),
  };
  if (job.parameters.since) manifest.deleted = indexed.filter(({ o }) => o.deleted).map(({ o, i }) => ({ ...entry(o, i), type: 'Bundle' as const }));
  return manifest;
}

/** A status request: 429 when the previous one was too recent, else the job's state. */
export async function exportStatus(bulk: BulkExport, fhirBase: string, jobId: string, clientId: string): Promise<StatusAnswer> {
  const job = await bulk.jobs.poll(jobId, clientId);
  if (!job) throw noSuchJob();
  const { minPollMs } = bulk.config;
  // A client that waits as Retry-After says is never told it polls too often.
  const retryAfterSeconds = Math.max(bulk.config.retryAfterSeconds, Math.ceil(minPollMs / 1000));
  if (job.status === 'queued' || job.status === 'running') {
    if (job.polledAt && Date.now() - job.polledAt.getTime() < minPollMs) {
      const err = new OperationOutcomeError(429, [issue('error', 'throttled', `Polled too often: wait as Retry-After says (${retryAfterSeconds} s) between status requests`)]);
      err.headers = { 'Retry-After': String(retryAfterSeconds) };
      throw err;
    }
    const types = job.parameters.types.length;
    const step = Math.min(job.progress.step, Math.max(types - 1, 0));
    const current = job.parameters.types[step];
    const progress =
      job.status === 'queued'
        ? 'queued'
        : `${Math.floor((100 * step) / Math.max(types, 1))}% (type ${step + 1} of ${types}${current ? `: ${current}` : ''}; ${job.progress.exported} resources)`;
    return { kind: 'in-progress', progress, retryAfter: retryAfterSeconds };
  }
  if (job.status === 'failed') {
    return { kind: 'failed', status: job.failure?.status ?? 500, outcome: job.failure?.outcome ?? { resourceType: 'OperationOutcome', issue: [issue('fatal', 'exception', 'The export failed')] } };
  }
  return { kind: 'complete', manifest: manifestOf(job, fhirBase), expires: job.expiresAt! };
}

/** Cancels (or deletes, when finished) the client's job and removes its files. */
export async function cancelExport(bulk: BulkExport, jobId: string, clientId: string): Promise<void> {
  if (!(await bulk.jobs.expireNow(jobId, clientId))) throw noSuchJob();
  // Now rather than at the next sweep; a failure here leaves it to the sweep.
  try {
    await bulk.files.removeJob(jobId);
    await bulk.jobs.forget(jobId);
  } catch {
    // the sweep removes what is left
  }
}

/** A file of a completed job of this client: its segments and size. */
export async function exportFile(bulk: BulkExport, jobId: string, index: number, clientId: string): Promise<{ job: ExportJobDocument; file: ExportOutput }> {
  const job = await bulk.jobs.get(jobId, clientId);
  const file = job?.status === 'completed' ? job.progress.outputs[index] : undefined;
  if (!job || !file) throw notFound('There is no such file (its export may have expired or been cancelled)');
  return { job, file };
}
