// Search benchmark: loads N patients' worth of portal data straight into the database (through
// the real ResourceIndexer, so documents look exactly as the server stores them), then measures
// the portal's everyday searches over HTTP against the running server, each beside a hand-written
// MongoDB query that returns the same documents through the raw driver, in the same run.
//   npx tsx bench/search-bench.ts [--patients 10000] [--seconds 5] [--concurrency 10]
//                                 [--data-dir DIR [--reuse]] [--only <name part>] [--cpu-prof DIR]
// Uses MONGODB_URI when set (see config.ts), otherwise starts a local database in a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { MongoClient, type Document } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import { loadConfig } from '../server/src/config.ts';
import { createLogger } from '../server/src/logger.ts';
import { freePort, startLocalDatabase, type LocalDatabase } from '../server/src/db/local-database.ts';
import { startBenchProcess } from './support/bench-processes.ts';
import { childPidsNamed, processCpuMs } from './support/process-cpu.ts';
import { createResourceIndexer } from '../server/src/fhir/search/indexer.ts';
import type { CurrentDocument } from '../server/src/fhir/repo/stored-document.ts';
import { KEY_HINTS_COLLECTION, KeyHints, keyOf, wantsKeyHints } from '../server/src/fhir/search/key-hints.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const PATIENTS = arg('patients', 10000);
const SECONDS = arg('seconds', 5);
const CONCURRENCY = arg('concurrency', 10);
const REUSE = process.argv.includes('--reuse');
// --data-dir DIR keeps the local database's files in DIR (instead of a temp dir removed at the end),
// so that --reuse can measure again without reloading.
const DATA_DIR_ARG = process.argv.indexOf('--data-dir');
const KEEP_DIR = DATA_DIR_ARG >= 0 ? path.resolve(process.argv[DATA_DIR_ARG + 1]) : undefined;
// --only <text> measures only the searches whose name contains the text.
const ONLY_ARG = process.argv.indexOf('--only');
const ONLY = ONLY_ARG >= 0 ? process.argv[ONLY_ARG + 1] : undefined;
// --cpu-prof <dir> runs the server with node --cpu-prof, writing its profile to dir at the end.
const PROF_ARG = process.argv.indexOf('--cpu-prof');
const PROF_DIR = PROF_ARG >= 0 ? path.resolve(process.argv[PROF_ARG + 1]) : undefined;

const LAB = ['2345-7', '718-7', '2160-0', '2093-3', '4548-4'];
const VITAL = ['8867-4', '8480-6', '29463-7'];
const DAY = 86400000;

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

function patientData(i: number, now: number): Resource[] {
  const pid = `p${i}`;
  const subject = { reference: `Patient/${pid}` };
  const out: Resource[] = [
    { resourceType: 'Patient', id: pid, identifier: [{ system: 'urn:mrn', value: `MRN${i}` }], name: [{ family: `Family${i % 500}`, given: [`Given${i}`] }], gender: i % 2 ? 'male' : 'female', birthDate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 9}` } as Resource,
  ];
  for (let k = 0; k < 12; k++) {
    const lab = k % 3 !== 0;
    const code = lab ? LAB[k % LAB.length] : VITAL[k % VITAL.length];
    out.push({
      resourceType: 'Observation', id: `${pid}-o${k}`, status: 'final', subject,
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: lab ? 'laboratory' : 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code }] },
      effectiveDateTime: new Date(now - rand(3 * 365) * DAY).toISOString(),
      valueQuantity: { value: 50 + rand(100), unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    } as Resource);
  }
  for (let k = 0; k < 2; k++) {
    const start = now + (k === 0 ? 1 : -1) * (1 + rand(60)) * DAY;
    out.push({ resourceType: 'Appointment', id: `${pid}-a${k}`, status: 'booked', start: new Date(start).toISOString(), end: new Date(start + 1800000).toISOString(), participant: [{ actor: subject, status: 'accepted' }, { actor: { reference: `Practitioner/dr${i % 50}` }, status: 'accepted' }] } as Resource);
  }
  for (let k = 0; k < 3; k++) {
    out.push({ resourceType: 'Communication', id: `${pid}-c${k}`, status: 'completed', subject, recipient: [subject], sent: new Date(now - rand(400) * DAY).toISOString(), payload: [{ contentString: 'Your results are ready' }] } as Resource);
  }
  for (let k = 0; k < 2; k++) {
    out.push({ resourceType: 'Invoice', id: `${pid}-i${k}`, status: k === 0 ? 'issued' : 'balanced', subject, date: new Date(now - rand(200) * DAY).toISOString(), totalGross: { value: 20 + rand(300), currency: 'USD' } } as Resource);
  }
  return out;
}

async function load(db: import('mongodb').Db, baseUrl: string): Promise<number> {
  const indexer = createResourceIndexer({ baseUrl });
  // Documents go straight into the database, so the identifier lookup keys the server keeps on
  // FerretDB (key-hints.ts) are written here too, before the documents, as the server would.
  const hints = (await wantsKeyHints(db, 'auto')) ? new KeyHints(db) : undefined;
  const now = Date.now();
  const ts = new Date();
  let n = 0;
  const batches = new Map<string, CurrentDocument[]>();
  const flush = async (type: string) => {
    const docs = batches.get(type) ?? [];
    await hints?.recordAll(docs.map((d) => ({ type, id: d._id, sp: d.sp })));
    if (docs.length) await db.collection<CurrentDocument>(type).insertMany(docs, { ordered: false });
    batches.set(type, []);
  };
  for (let i = 0; i < PATIENTS; i++) {
    for (const r of patientData(i, now)) {
      r.meta = { versionId: '1', lastUpdated: ts.toISOString() };
      const doc: CurrentDocument = { _id: r.id ?? '', vid: 1, ts, resource: r, ...indexer(r) };
      const list = batches.get(r.resourceType) ?? [];
      list.push(doc);
      batches.set(r.resourceType, list);
      n++;
      if (list.length >= 1000) await flush(r.resourceType);
    }
  }
  for (const type of batches.keys()) await flush(type);
  return n;
}

interface Figures {
  p50: number;
  p99: number;
  rps: number;
  n: number;
  /** CPU ms per request of this (load-generating) process, the FHIR server and the database. */
  cpu: { bench: number; server?: number; db?: number };
}

/** Processes whose CPU time each measurement reports per request. */
const cpuPids: { server?: number; db?: number } = {};

async function measure(run: () => Promise<number>): Promise<Figures> {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const benchBefore = process.cpuUsage();
  const serverBefore = processCpuMs(cpuPids.server);
  const dbBefore = processCpuMs(cpuPids.db);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await run();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const benchCpu = process.cpuUsage(benchBefore);
  const per = (before?: number, after?: number) =>
    before === undefined || after === undefined ? undefined : (after - before) / latencies.length;
  const cpu = {
    bench: (benchCpu.user + benchCpu.system) / 1000 / latencies.length,
    server: per(serverBefore, processCpuMs(cpuPids.server)),
    db: per(dbBefore, processCpuMs(cpuPids.db)),
  };
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), rps: latencies.length / elapsed, n: latencies.length, cpu };
}

async function main() {
  const config = loadConfig();
  let local: LocalDatabase | undefined;
  let tmp: string | undefined;
  let uri = config.mongoUri;
  if (!uri) {
    const dir = KEEP_DIR ?? (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bench-')));
    fs.mkdirSync(dir, { recursive: true });
    local = await startLocalDatabase(dir, createLogger('warn'), { binaryDir: config.dataDir, ferretDbCacheDir: config.ferretDbCacheDir });
    uri = local.uri;
  }
  // The server runs in its own process, configured as `npm start` would be (request log included,
  // to /dev/null), so that it does not share an event loop with the load generator.
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await startBenchProcess('FHIR server', path.join(import.meta.dirname, 'support/fhir-server-process.ts'), {
    MONGODB_URI: uri,
    MONGODB_DB: 'search_bench',
    PORT: String(port),
    HOST: '127.0.0.1',
    BASE_URL: baseUrl,
    LOAD_DEMO_DATA: 'false',
    LOG_LEVEL: 'info',
  }, PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : []);
  cpuPids.server = server.child.pid;
  cpuPids.db = childPidsNamed(['ferretdb', 'mongod'])[0];
  const client = await MongoClient.connect(uri);
  const db = client.db('search_bench');
  const fhir = `${baseUrl}/fhir`;
  try {
    const existing = await db.collection('Patient').estimatedDocumentCount();
    if (!REUSE || existing < PATIENTS) {
      for (const t of ['Patient', 'Observation', 'Appointment', 'Communication', 'Invoice']) await db.collection(t).deleteMany({});
      const t0 = performance.now();
      const n = await load(db, fhir);
      console.log(`loaded ${n} resources for ${PATIENTS} patients in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const today = new Date().toISOString().slice(0, 10);
    const pick = () => rand(PATIENTS);
    // A keep-alive node:http client: the load generator should cost as little CPU as it can.
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const get = (url: string) =>
      new Promise<number>((resolve, reject) => {
        http
          .get(url, { agent, headers: { accept: 'application/fhir+json' } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode} ${text.slice(0, 300)}`));
              resolve(((JSON.parse(text) as { entry?: unknown[] }).entry ?? []).length);
            });
            res.on('error', reject);
          })
          .on('error', reject);
      });
    const find = async (type: string, filter: Document, sort?: Document, limit = 21) => {
      let c = db.collection(type).find(filter);
      if (sort) c = c.sort(sort);
      return (await c.limit(limit).toArray()).length;
    };
    const loinc = 'http://loinc.org|2345-7';
    const keys = (await wantsKeyHints(db, 'auto')) ? db.collection<{ _id: string; k: string; r: string }>(KEY_HINTS_COLLECTION) : undefined;
    const scenarios: Array<{ name: string; http: (i: number) => Promise<number>; raw: (i: number) => Promise<number> }> = [
      {
        name: 'Observation?patient=X&category=laboratory&_sort=-date&_count=50',
        http: (i) => get(`${fhir}/Observation?patient=p${i}&category=laboratory&_sort=-date&_count=50`),
        raw: (i) => find('Observation', { patient: `p${i}`, 'sp.category.c': 'laboratory' }, { 'sp.date.o': -1, _id: 1 }, 51),
      },
      {
        name: 'Observation?patient=X&code=<loinc>&_sort=date',
        http: (i) => get(`${fhir}/Observation?patient=p${i}&code=${encodeURIComponent(loinc)}&_sort=date`),
        raw: (i) => find('Observation', { patient: `p${i}`, 'sp.code.sc': loinc }, { 'sp.date.o': 1, _id: 1 }),
      },
      {
        name: 'Appointment?patient=X&date=ge<today>',
        http: (i) => get(`${fhir}/Appointment?patient=p${i}&date=ge${today}`),
        raw: (i) => find('Appointment', { patient: `p${i}`, 'sp.date.hi': { $gte: new Date(today) } }, { _id: 1 }),
      },
      {
        name: 'Communication?subject=Patient/X&_sort=-sent',
        http: (i) => get(`${fhir}/Communication?subject=Patient/p${i}&_sort=-sent`),
        raw: (i) => find('Communication', { patient: `p${i}` }, { 'sp.sent.o': -1, _id: 1 }),
      },
      {
        name: 'Invoice?subject=Patient/X&status=issued',
        http: (i) => get(`${fhir}/Invoice?subject=Patient/p${i}&status=issued`),
        raw: (i) => find('Invoice', { patient: `p${i}`, 'sp.status.c': 'issued' }, { _id: 1 }),
      },
      {
        name: 'Patient?_id=X&_revinclude=Appointment:patient',
        http: (i) => get(`${fhir}/Patient?_id=p${i}&_revinclude=Appointment:patient`),
        raw: async (i) => (await db.collection('Patient').findOne({ _id: `p${i}` } as Document) ? 1 : 0) + (await find('Appointment', { patient: `p${i}` }, undefined, 1000)),
      },
      {
        name: 'Observation?subject:Patient.identifier=urn:mrn|MRNX&code=<loinc> (chain)',
        http: (i) => get(`${fhir}/Observation?subject:Patient.identifier=${encodeURIComponent(`urn:mrn|MRN${i}`)}&code=${encodeURIComponent(loinc)}`),
        raw: async (i) => {
          // The best hand-written lookup: the multikey index on MongoDB; on FerretDB, which has
          // none, the identifier keys the server keeps beside the documents (key-hints.ts).
          const mrn = `urn:mrn|MRN${i}`;
          const key = keys && (await keys.findOne({ k: keyOf('Patient', 'identifier', `sc:${mrn}`) }, { projection: { r: 1 } }));
          const p = await db
            .collection('Patient')
            .findOne((key ? { _id: key.r, 'sp.identifier.sc': mrn } : { 'sp.identifier.sc': mrn }) as Document, { projection: { _id: 1 } });
          return p ? find('Observation', { patient: String(p._id), 'sp.code.sc': loinc }, { _id: 1 }) : 0;
        },
      },
    ];
    // Sanity: both sides return the same number of documents for the same patient.
    for (const s of scenarios) {
      const i = pick();
      const [h, r] = [await s.http(i), await s.raw(i)];
      if (h !== r) console.warn(`warning: ${s.name}: HTTP returned ${h} entries, raw query ${r}`);
    }
    console.log(`\n${PATIENTS} patients, ${CONCURRENCY} concurrent clients, ${SECONDS} s per measurement\n`);
    console.log('CPU columns: milliseconds of CPU per request of the load generator (bench), the FHIR server and the database.\n');
    console.log('| search | engine p50 ms | engine p99 ms | engine req/s | raw p50 ms | raw p99 ms | raw req/s | ratio | CPU engine: bench / server / db | CPU raw: bench / db |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const ms = (v?: number) => (v === undefined ? '?' : v.toFixed(2));
    for (const s of scenarios) {
      if (ONLY && !s.name.includes(ONLY)) continue;
      const e = await measure(() => s.http(pick()));
      const r = await measure(() => s.raw(pick()));
      console.log(
        `| \`${s.name}\` | ${e.p50.toFixed(1)} | ${e.p99.toFixed(1)} | ${e.rps.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.rps.toFixed(1)} | ${(e.rps / r.rps).toFixed(2)} ` +
          `| ${ms(e.cpu.bench)} / ${ms(e.cpu.server)} / ${ms(e.cpu.db)} | ${ms(r.cpu.bench)} / ${ms(r.cpu.db)} |`,
      );
    }
  } finally {
    await client.close();
    await server.stop();
    await local?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
