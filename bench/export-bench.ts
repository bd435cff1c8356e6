// Bulk Data export benchmark: loads N resources straight into the database (through the server's
// own indexer, as the search benchmark does), starts the FHIR server in its own process, and
// exports everything with a backend-services token: kick-off to manifest (resources/s), then the
// download of every file; beside it, in the same run, the baseline: the raw driver streaming the
// same documents (one cursor per type) into NDJSON files. The server's peak RSS (VmHWM) is read
// from /proc after each size; several sizes in one run show whether memory stays flat.
//   npx tsx bench/export-bench.ts [--sizes 200000,1000000] [--page 1000]
// Uses MONGODB_URI when set, otherwise starts a local database in a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { MongoClient, type Db } from 'mongodb';
import type { FhirResource, Observation, Patient } from 'fhir/r4';
import { loadConfig } from '../server/src/config.ts';
import { loadSecret } from '../server/src/auth/secret-box.ts';
import { createLogger } from '../server/src/logger.ts';
import { freePort, startLocalDatabase, type LocalDatabase } from '../server/src/db/local-database.ts';
import { startBenchProcess } from './support/bench-processes.ts';
import { registerClient, tokenFrom } from './support/bench-client.ts';
import { loadResources } from './support/search-load.ts';

const option = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (option('sizes') ?? '200000,1000000').split(',').map(Number);
const PAGE = Number(option('page') ?? 1000);
/** Observations per patient: a record of some years. */
const PER_PATIENT = 19;

/** A UUID derived from a number: ids like those the server gives (random UUIDs), the same in every run. */
const uuidOf = (kind: string, n: number) => {
  const h = createHash('sha1').update(`${kind}${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** `n` resources: a patient, then their observations (about 0.7 KB of JSON each). */
function* resources(n: number): Generator<FhirResource> {
  for (let i = 0; i < n; i++) {
    const p = Math.floor(i / (PER_PATIENT + 1));
    const pid = uuidOf('p', p);
    if (i % (PER_PATIENT + 1) === 0) {
      const patient: Patient = {
        resourceType: 'Patient',
        id: pid,
        identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: `MRN${p}` }],
        name: [{ family: `Family${p % 997}`, given: [`Given${p % 331}`] }],
        gender: p % 2 ? 'female' : 'male',
        birthDate: `19${String(40 + (p % 60)).padStart(2, '0')}-0${1 + (p % 9)}-1${p % 10}`,
        address: [{ line: [`${p} Main Street`], city: 'Riverbend', postalCode: String(10000 + (p % 8999)) }],
      };
      yield patient;
    } else {
      const obs: Observation = {
        resourceType: 'Observation',
        id: uuidOf('o', i),
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }], text: 'Glucose' },
        subject: { reference: `Patient/${pid}` },
        effectiveDateTime: new Date(Date.UTC(2015, 0, 1) + (i % 3000) * 86_400_000).toISOString(),
        issued: new Date(Date.UTC(2015, 0, 2) + (i % 3000) * 86_400_000).toISOString(),
        valueQuantity: { value: 70 + (i % 80), unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
        referenceRange: [{ low: { value: 70, unit: 'mg/dL' }, high: { value: 100, unit: 'mg/dL' } }],
      };
      yield obs;
    }
  }
}

/** Peak resident memory of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The baseline: every document of the types streamed by the raw driver into NDJSON files. */
async function rawExport(db: Db, types: string[], dir: string): Promise<number> {
  let n = 0;
  for (const type of types) {
    const out = fs.createWriteStream(path.join(dir, `${type}.ndjson`));
    for await (const doc of db.collection(type).find({}, { projection: { resource: 1 }, sort: { _id: 1 }, batchSize: PAGE })) {
      if (!out.write(`${JSON.stringify(doc.resource)}\n`)) await once(out, 'drain');
      n++;
    }
    out.end();
    await once(out, 'finish');
  }
  return n;
}

interface Figures {
  size: number;
  exportSeconds: number;
  downloadSeconds: number;
  exported: number;
  rawSeconds: number;
  peakRssMb: number;
  startRssMb: number;
}

async function measure(uri: string, size: number, dir: string): Promise<Figures> {
  const database = `export_bench_${size}`;
  const mongo = await MongoClient.connect(uri);
  const db = mongo.db(database);
  const serverDir = path.join(dir, `server-${size}`);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    MONGODB_URI: uri,
    MONGODB_DB: database,
    PORT: String(port),
    HOST: '127.0.0.1',
    BASE_URL: baseUrl,
    DATA_DIR: serverDir,
    AUTH_SECRET: loadSecret(undefined, serverDir).toString('base64'),
    LOAD_DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
    BULK_PAGE_SIZE: String(PAGE),
    BULK_MIN_POLL_MS: '0',
  };
  try {
    await db.dropDatabase();
    let t = performance.now();
    const loaded = await loadResources(db, loadConfig(env), resources(size));
    console.log(`${size}: loaded ${loaded} resources in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const server = await startBenchProcess('FHIR server', path.join(import.meta.dirname, 'support/fhir-server-process.ts'), env);
    try {
      // What the server holds at rest once started (validator, definitions, authorization server):
      // the export's own memory is what comes on top.
      const startRss = peakRssMb(server.child.pid!);
      const client = await registerClient(uri, database, env.AUTH_SECRET, 'system/*.rs');
      let token = await tokenFrom(baseUrl, client);
      t = performance.now();
      const kick = await fetch(`${baseUrl}/fhir/$export`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async' } });
      if (kick.status !== 202) throw new Error(`kick-off: ${kick.status} ${await kick.text()}`);
      const status = kick.headers.get('content-location')!;
      let manifest: { output: Array<{ url: string; count: number }> } | undefined;
      let refreshed = performance.now();
      while (!manifest) {
        await new Promise((r) => setTimeout(r, 250));
        if (performance.now() - refreshed > 200_000) {
          token = await tokenFrom(baseUrl, client); // backend tokens live five minutes
          refreshed = performance.now();
        }
        const res = await fetch(status, { headers: { authorization: `Bearer ${token}` } });
        if (res.status === 200) manifest = (await res.json()) as typeof manifest;
        else if (res.status !== 202) throw new Error(`status: ${res.status} ${await res.text()}`);
        else await res.arrayBuffer();
      }
      const exportSeconds = (performance.now() - t) / 1000;
      t = performance.now();
      let exported = 0;
      for (const o of manifest.output) {
        const res = await fetch(o.url, { headers: { authorization: `Bearer ${token}` } });
        let lines = 0;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) for (const b of chunk) if (b === 0x0a) lines++;
        if (lines !== o.count) throw new Error(`${o.url}: ${lines} lines, manifest says ${o.count}`);
        exported += lines;
      }
      const downloadSeconds = (performance.now() - t) / 1000;
      const peak = peakRssMb(server.child.pid!);
      // The baseline, on the same data in the same run.
      const rawDir = fs.mkdtempSync(path.join(dir, 'raw-'));
      t = performance.now();
      const raw = await rawExport(db, ['Observation', 'Patient'], rawDir);
      const rawSeconds = (performance.now() - t) / 1000;
      fs.rmSync(rawDir, { recursive: true, force: true });
      if (raw !== exported) throw new Error(`the raw export wrote ${raw} resources, the server ${exported}`);
      return { size, exportSeconds, downloadSeconds, exported, rawSeconds, peakRssMb: peak, startRssMb: startRss };
    } finally {
      await server.stop();
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}

async function main() {
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-bench-'));
  let local: LocalDatabase | undefined;
  let uri = config.mongoUri;
  try {
    if (!uri) {
      local = await startLocalDatabase(dir, createLogger('warn'), { binaryDir: config.dataDir, ferretDbCacheDir: config.ferretDbCacheDir });
      uri = local.uri;
    }
    const rows: Figures[] = [];
    for (const size of SIZES) rows.push(await measure(uri, size, dir));
    console.log(`\nload average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, page ${PAGE}\n`);
    console.log('| resources | export s | export res/s | raw s | raw res/s | export/raw | download s | server peak RSS MB (at start) |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const rate = r.exported / r.exportSeconds;
      const rawRate = r.exported / r.rawSeconds;
      console.log(
        `| ${r.size} | ${r.exportSeconds.toFixed(1)} | ${rate.toFixed(0)} | ${r.rawSeconds.toFixed(1)} | ${rawRate.toFixed(0)} | ${(rate / rawRate).toFixed(2)} | ${r.downloadSeconds.toFixed(1)} | ${r.peakRssMb.toFixed(0)} (${r.startRssMb.toFixed(0)}) |`,
      );
    }
  } finally {
    await local?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
