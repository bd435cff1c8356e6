// Loads the committed demo set (seed-data/demo/*.json) into a running FHIR server. This is what
// `npm start` calls on an empty database:
//
//   import { loadDemoData } from '../../seed-data/load-demo.ts';
//   await loadDemoData(`${config.baseUrl}/fhir`);
//
// The clinic bundle (00-clinic.json) goes first because patient bundles refer to its
// practitioners and organizations; patients follow, two at a time. Loading is idempotent (every
// entry is a PUT to a fixed id), so a second call only adds new versions.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TransactionBundle } from './bundle.ts';
import { DEMO_DIR } from './demo-set.ts';
import { type LabelledBundle, loadBundles, type LoadOptions, type LoadSummary } from './loader.ts';

export interface LoadDemoOptions {
  /** Patient bundles in flight at once (default 2: the demo should not starve the server). */
  concurrency?: number;
  /** Extra headers for every request, e.g. Authorization once the API requires a token. */
  headers?: Record<string, string>;
  /** Folder of bundle files (default seed-data/demo). */
  dir?: string;
  onProgress?: LoadOptions['onProgress'];
}

/** File names of the demo bundles, clinic first. */
export async function demoBundleFiles(dir = DEMO_DIR): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
}

async function readBundle(dir: string, file: string): Promise<LabelledBundle> {
  const bundle = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as TransactionBundle;
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
  const base: LoadOptions = { url: fhirBaseUrl, ...(options.headers ? { headers: options.headers } : {}) };
  const clinic = await loadBundles([await readBundle(dir, clinicFile)], { ...base, concurrency: 1 });
  // Read files lazily so only the bundles in flight are in memory.
  async function* patients(): AsyncGenerator<LabelledBundle> {
    for (const file of patientFiles) yield await readBundle(dir, file);
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
