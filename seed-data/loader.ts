// Sends transaction Bundles to a FHIR server with fhir-kit-client, a few at a time. Bundles are
// pulled from an iterator only when a worker is free, so a generator of 100,000 patient bundles
// keeps at most `concurrency` of them in memory.
import type { Bundle } from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import type { TransactionBundle } from './bundle.ts';

export interface LoadProgress {
  bundles: number;
  resources: number;
  failed: number;
  elapsedMs: number;
}

export interface LoadOptions {
  /** FHIR base URL, e.g. http://localhost:8080/fhir */
  url: string;
  /** Transactions in flight at once. */
  concurrency?: number;
  /** Retries of a bundle after a network error, 429 or 5xx (PUTs are idempotent, so retrying is safe). */
  retries?: number;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** The access token to send (asked before every bundle, so a token source can renew it). */
  accessToken?: () => Promise<string>;
  /** Keep going after a bundle fails (it is reported); default stops at the first failure. */
  continueOnError?: boolean;
  onProgress?: (progress: LoadProgress) => void;
  /** How often onProgress is called, in bundles. */
  progressEvery?: number;
}

export interface LoadFailure {
  label: string;
  status?: number;
  message: string;
}

export interface LoadSummary extends LoadProgress {
  failures: LoadFailure[];
}

export interface LabelledBundle {
  /** Shown in errors and progress, e.g. "patient 17" or a file name. */
  label: string;
  bundle: TransactionBundle;
}

interface HttpError {
  response?: { status?: number; data?: unknown };
  message?: string;
}

function describe(error: unknown): { status?: number; message: string } {
  const e = error as HttpError;
  const status = e?.response?.status;
  const data = e?.response?.data as { resourceType?: string; issue?: Array<{ diagnostics?: string; details?: { text?: string }; expression?: string[] }> } | undefined;
  let message = e?.message ?? String(error);
  if (data?.resourceType === 'OperationOutcome' && data.issue) {
    message = data.issue
      .slice(0, 5)
      .map((i) => `${i.diagnostics ?? i.details?.text ?? 'error'}${i.expression ? ` at ${i.expression.join(', ')}` : ''}`)
      .join('; ');
  }
  return status === undefined ? { message } : { status, message };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function loadBundles(source: Iterable<LabelledBundle> | AsyncIterable<LabelledBundle>, options: LoadOptions): Promise<LoadSummary> {
  const client = new Client({ baseUrl: options.url, ...(options.headers ? { customHeaders: options.headers } : {}) });
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const retries = options.retries ?? 3;
  const progressEvery = Math.max(1, options.progressEvery ?? 100);
  const started = Date.now();
  const summary: LoadSummary = { bundles: 0, resources: 0, failed: 0, elapsedMs: 0, failures: [] };
  const iterator: Iterator<LabelledBundle> | AsyncIterator<LabelledBundle> =
    Symbol.asyncIterator in source ? (source as AsyncIterable<LabelledBundle>)[Symbol.asyncIterator]() : (source as Iterable<LabelledBundle>)[Symbol.iterator]();
  let stopped = false;
  let firstError: Error | undefined;

  const send = async (item: LabelledBundle) => {
    for (let attempt = 0; ; attempt++) {
      try {
        if (options.accessToken) client.bearerToken = await options.accessToken();
        // fhir-kit-client types the body loosely; a Bundle is what it posts to the base URL.
        await client.transaction({ body: item.bundle as Bundle & Record<string, unknown> });
        return;
      } catch (error) {
        const { status, message } = describe(error);
        const transient = status === undefined || status === 429 || status >= 500;
        if (transient && attempt < retries) {
          await sleep(250 * 2 ** attempt);
          continue;
        }
        throw Object.assign(new Error(`${item.label}: ${status ? `HTTP ${status}: ` : ''}${message}`), { status });
      }
    }
  };

  const worker = async () => {
    while (!stopped) {
      const next = await iterator.next();
      if (next.done) return;
      const item = next.value;
      try {
        await send(item);
        summary.bundles += 1;
        summary.resources += item.bundle.entry.length;
      } catch (error) {
        summary.failed += 1;
        const e = error as Error & { status?: number };
        summary.failures.push({ label: item.label, message: e.message, ...(e.status !== undefined ? { status: e.status } : {}) });
        if (!options.continueOnError) {
          stopped = true;
          firstError ??= e;
        }
      }
      if (options.onProgress && (summary.bundles + summary.failed) % progressEvery === 0) {
        options.onProgress({ ...summary, elapsedMs: Date.now() - started });
      }
    }
  };

  await Promise.all(Array.from({ length: concurrency }, worker));
  summary.elapsedMs = Date.now() - started;
  if (firstError) throw Object.assign(firstError, { summary });
  return summary;
}
