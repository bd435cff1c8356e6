// Loads the committed demo set (seed-data/demo/*.json) into a running FHIR server. This is what
// `npm start` calls on an empty database:
//
//   import { loadDemoData } from '../../seed-data/load-demo.ts';
//   await loadDemoData(`${config.baseUrl}/fhir`, { rebaseTo: new Date() });
//
// `rebaseTo` moves all dates by whole weeks so the demo's reference date (2026-11-16) lands in
// the week before the given date: upcoming appointments stay upcoming, recent results recent.
//
// The clinic bundle (00-clinic.json) goes first because patient bundles refer to its
// practitioners and organizations; patients follow, two at a time. Loading is idempotent (every
// entry is a PUT to a fixed id), so a second call only adds new versions.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TransactionBundle } from './bundle.ts';
import { DEMO_DIR, DEMO_OPTIONS } from './demo-set.ts';
import { type LabelledBundle, loadBundles, type LoadOptions, type LoadSummary } from './loader.ts';
import { shiftDatesInText, weeksBetween } from './rebase-dates.ts';

export interface LoadDemoOptions {
  /** Patient bundles in flight at once (default 2: the demo should not starve the server). */
  concurrency?: number;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** The access token to send (asked before every bundle, so a token source can renew it). */
  accessToken?: () => Promise<string>;
  /** Folder of bundle files (default seed-data/demo). */
  dir?: string;
  onProgress?: LoadOptions['onProgress'];
  /**
   * Shift every date so the demo's reference date falls within the 7 days up to this date
   * (whole weeks, so weekdays and intervals are kept). Default: load the dates as committed.
   */
  rebaseTo?: Date;
}

/** File names of the demo bundles, clinic first. */
export async function demoBundleFiles(dir = DEMO_DIR): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
}

async function readBundle(dir: string, file: string, shiftDays: number): Promise<LabelledBundle> {
  const bundle = JSON.parse(shiftDatesInText(await readFile(path.join(dir, file), 'utf8'), shiftDays)) as TransactionBundle;
  if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') throw new Error(`${file}: not a transaction Bundle`);
  return { label: file, bundle };
}

/**
 * Loads every demo bundle into the server at `fhirBaseUrl` (e.g. http://localhost:8080/fhir).
 * Resolves with counts; rejects with the first failing bundle's OperationOutcome text.
 */
export async function loadDemoData(fhirBaseUrl: string, options: LoadDemoOptions = {}): Promise<LoadSummary> {
  const dir = options.dir ?? DEMO_DIR;
  const files = await demoBundleFiles(dir);
  const [clinicFile, ...patientFiles] = files;
  if (!clinicFile) throw new Error(`loadDemoData: no bundles in ${dir}`);
  const shiftDays = options.rebaseTo ? 7 * weeksBetween(DEMO_OPTIONS.now, options.rebaseTo) : 0;
  const base: LoadOptions = {
    url: fhirBaseUrl,
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
  };
  const clinic = await loadBundles([await readBundle(dir, clinicFile, shiftDays)], { ...base, concurrency: 1 });
  // Read files lazily so only the bundles in flight are in memory.
  async function* patients(): AsyncGenerator<LabelledBundle> {
    for (const file of patientFiles) yield await readBundle(dir, file, shiftDays);
  }
  const rest = await loadBundles(patients(), {
    ...base,
    concurrency: options.concurrency ?? 2,
    progressEvery: 5,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return {
    bundles: clinic.bundles + rest.bundles,
    resources: clinic.resources + rest.resources,
    failed: clinic.failed + rest.failed,
    elapsedMs: clinic.elapsedMs + rest.elapsedMs,
    failures: [...clinic.failures, ...rest.failures],
  };
}
