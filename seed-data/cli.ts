// npm run seed -- [options]: generate synthetic patients and load them into a FHIR server, write
// them to files, or regenerate the committed demo set. See seed-data/README.md.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/src/config.ts';
import { serializeBundle } from './bundle.ts';
import { writeDemoSet } from './demo-set.ts';
import { DEFAULT_OPTIONS, SeedGenerator } from './generator.ts';
import { loadDemoData } from './load-demo.ts';
import { seedAccessToken } from './seed-token.ts';
import { type LabelledBundle, loadBundles, type LoadProgress } from './loader.ts';

/** The FHIR base of the server `npm start` runs with the same environment (PORT, BASE_URL). */
const defaultUrl = () => `${loadConfig().baseUrl}/fhir`;

const HELP = () => `Usage: npm run seed -- [options]

  --patients N         patients to generate (default 100)
  --first N            index of the first patient (default 0; lets several runs add disjoint patients)
  --seed TEXT          random seed (default "${DEFAULT_OPTIONS.seed}"); same seed, same data
  --now ISO-DATE       reference date for "past" and "upcoming" (default ${DEFAULT_OPTIONS.now.toISOString()})
  --history-years N    years of history per patient (default ${DEFAULT_OPTIONS.historyYears})
  --practitioners N    clinic staff (default ${DEFAULT_OPTIONS.practitioners})
  --url URL            FHIR base URL to load into (default: the server's, from BASE_URL or PORT
                       as npm start reads them; now ${defaultUrl()})
  --concurrency N      transactions in flight (default 4)
  --token TOKEN        send "Authorization: Bearer TOKEN"
  --client-id ID --key FILE
                       authenticate as this backend-services client (FILE: its private JWK)
                       (default: the server this checkout runs, with its own tools client)
  --continue-on-error  report failed bundles and go on
  --out DIR            write bundles as JSON files into DIR instead of loading them
  --dry-run            generate only; print counts and speed
  --demo               load the committed demo set (seed-data/demo) into --url
  --write-demo         regenerate seed-data/demo and seed-data/demo-manifest.json
  --help`;

function positiveInt(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

function progressLine(p: LoadProgress, total?: number): string {
  const rate = p.elapsedMs > 0 ? (p.bundles / (p.elapsedMs / 1000)).toFixed(1) : '0';
  return `${p.bundles}${total ? `/${total}` : ''} bundles, ${p.resources} resources, ${p.failed} failed, ${rate} patients/s`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      patients: { type: 'string' },
      first: { type: 'string' },
      seed: { type: 'string' },
      now: { type: 'string' },
      'history-years': { type: 'string' },
      practitioners: { type: 'string' },
      url: { type: 'string' },
      concurrency: { type: 'string' },
      token: { type: 'string' },
      'client-id': { type: 'string' },
      key: { type: 'string' },
      'continue-on-error': { type: 'boolean' },
      out: { type: 'string' },
      'dry-run': { type: 'boolean' },
      demo: { type: 'boolean' },
      'write-demo': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP());
    return;
  }
  const url = values.url ?? defaultUrl();
  const needsServer = !values['write-demo'] && !values['dry-run'] && !values.out;
  const accessToken = needsServer
    ? await seedAccessToken(loadConfig(), url, { token: values.token, clientId: values['client-id'], keyFile: values.key })
    : undefined;

  if (values['write-demo']) {
    const files = await writeDemoSet();
    console.log(`Wrote ${files.length} bundles to seed-data/demo and seed-data/demo-manifest.json`);
    return;
  }
  if (values.demo) {
    const summary = await loadDemoData(url, { accessToken, onProgress: (p) => console.error(progressLine(p)) });
    console.log(`Loaded demo set: ${progressLine(summary)}`);
    return;
  }

  const now = values.now ? new Date(values.now) : DEFAULT_OPTIONS.now;
  if (Number.isNaN(now.getTime())) throw new Error(`--now must be an ISO date, got "${values.now}"`);
  const generator = new SeedGenerator({
    seed: values.seed ?? DEFAULT_OPTIONS.seed,
    now,
    historyYears: positiveInt('history-years', values['history-years'], DEFAULT_OPTIONS.historyYears, 1),
    practitioners: positiveInt('practitioners', values.practitioners, DEFAULT_OPTIONS.practitioners, 8),
  });
  const count = positiveInt('patients', values.patients, 100);
  const first = positiveInt('first', values.first, 0);
  const concurrency = positiveInt('concurrency', values.concurrency, 4, 1);

  function* labelled(): Generator<LabelledBundle> {
    for (const { index, bundle } of generator.patientBundles(count, first)) yield { label: `patient ${index}`, bundle };
  }

  if (values['dry-run']) {
    const started = Date.now();
    let resources = 0;
    let bytes = 0;
    for (const { bundle } of labelled()) {
      resources += bundle.entry.length;
      bytes += JSON.stringify(bundle).length;
    }
    const secs = (Date.now() - started) / 1000;
    console.log(`Generated ${count} patients, ${resources} resources, ${(bytes / 1e6).toFixed(1)} MB of JSON in ${secs.toFixed(1)} s`);
    return;
  }

  if (values.out) {
    const dir = path.resolve(values.out);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, '00-clinic.json'), serializeBundle(generator.clinicBundle()));
    const width = String(first + count).length;
    for (const { index, bundle } of generator.patientBundles(count, first)) {
      await writeFile(path.join(dir, `patient-${String(index).padStart(width, '0')}.json`), JSON.stringify(bundle));
      if ((index - first + 1) % 1000 === 0) console.error(`${index - first + 1}/${count} written`);
    }
    console.log(`Wrote the clinic bundle and ${count} patient bundles to ${dir}`);
    return;
  }

  console.error(`Loading the clinic directory and ${count} patients into ${url} (seed "${generator.options.seed}", reference date ${generator.options.now.toISOString()})`);
  await loadBundles([{ label: 'clinic', bundle: generator.clinicBundle() }], { url, concurrency: 1, accessToken });
  const summary = await loadBundles(labelled(), {
    url,
    concurrency,
    accessToken,
    continueOnError: values['continue-on-error'] ?? false,
    progressEvery: count >= 1000 ? 500 : 10,
    onProgress: (p) => console.error(progressLine(p, count)),
  });
  console.log(`Done: ${progressLine(summary, count)}`);
  for (const f of summary.failures.slice(0, 20)) console.error(`  failed ${f.label}: ${f.message}`);
  if (summary.failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
