// Search benchmark: loads N patients' worth of data straight into the database (through the real
// ResourceIndexer, so documents look exactly as the server stores them), then measures a set of
// searches over HTTP against the running server, each beside a hand-written MongoDB query that
// returns the same documents through the raw driver, in the same run. Sets (scenario-sets.ts):
// `portal`, a patient's everyday portal searches, each with that patient's own token; `lookups`,
// staff finding patients by name, birth date, MRN and phone, with a backend-services token
// (support/search-callers.ts). The hand-written queries include the access conditions the
// server adds for those tokens.
//   npx tsx bench/search-bench.ts [--set portal|lookups] [--patients 10000] [--seconds 5] [--warmup 2]
//                                 [--concurrency 10] [--pool 30] [--data-dir DIR [--reuse]] [--only <name part>] [--cpu-prof DIR]
// Uses MONGODB_URI when set (see config.ts), otherwise starts a local database in a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../server/src/config.ts';
import { loadSecret } from '../server/src/auth/secret-box.ts';
import { createLogger } from '../server/src/logger.ts';
import { freePort, startLocalDatabase, type LocalDatabase } from '../server/src/db/local-database.ts';
import { startBenchProcess } from './support/bench-processes.ts';
import { runLoad, summarize } from './support/load-run.ts';
import { childPidsNamed, processCpuMs } from './support/process-cpu.ts';
import { KEY_HINTS_COLLECTION, wantsKeyHints, type KeyDocument } from '../server/src/fhir/search/key-hints.ts';
import { loadResources } from './support/search-load.ts';
import { scenarioSet } from './support/scenario-sets.ts';
import { prepareCallers } from './support/search-callers.ts';

/** The value after --name on the command line, if given. */
const option = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const arg = (name: string, fallback: number) => Number(option(name) ?? fallback);
const PATIENTS = arg('patients', 10000);
const SECONDS = arg('seconds', 5);
/** Seconds each search runs (on every target) before anything is measured, so that no figure is of a cold JIT. */
const WARMUP_SECONDS = arg('warmup', 2);
const CONCURRENCY = arg('concurrency', 10);
/** Patients with accounts and tokens whose data the patient searches are about (search-callers.ts). */
const POOL = arg('pool', 30);
const REUSE = process.argv.includes('--reuse');
// --data-dir DIR keeps the local database's files in DIR (instead of a temp dir removed at the end),
// so that --reuse can measure again without reloading.
const KEEP_DIR = option('data-dir') && path.resolve(option('data-dir')!);
// --only <text> measures only the searches whose name contains the text.
const ONLY = option('only');
// --cpu-prof <dir> runs the server with node --cpu-prof, writing its profile to dir at the end.
const PROF_DIR = option('cpu-prof') && path.resolve(option('cpu-prof')!);

// --set portal|lookups: which searches, on which data (support/scenario-sets.ts).
const SET_NAME = option('set') ?? 'portal';
const SET = scenarioSet(SET_NAME);

/** Searches per scenario before warm-up (see main). */
const PRIME = 240;
/**
 * Pause after each measurement of the server, before its CPU is read: the server writes the audit
 * trail of the requests it answered in batches (every 200 ms), and that work belongs to them.
 */
const SETTLE_MS = 700;

/** Waits until the number of lookup keys under the prefixes has not changed for two seconds (merging has ended). */
async function keysSettled(db: import('mongodb').Db, prefixes: string[]): Promise<void> {
  const keys = db.collection<KeyDocument>(KEY_HINTS_COLLECTION);
  let last = -1;
  for (let stable = 0; stable < 2; ) {
    let n = 0;
    for (const p of prefixes) n += await keys.countDocuments({ _id: { $gte: p, $lt: `${p}~` } });
    stable = n === last ? stable + 1 : 0;
    last = n;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface Figures {
  p50: number;
  p99: number;
  rps: number;
  n: number;
  /** CPU ms per request of this (load-generating) process, the FHIR server and the database. */
  cpu: { bench: number; server?: number; db?: number };
}

/** The database process, whose CPU time each measurement reports per request. */
let dbPid: number | undefined;

/** One search request: its path, and its Authorization header when it goes to the FHIR server. */
interface SearchRequestLine {
  path: string;
  authorization?: string;
}

/**
 * HTTP load from autocannon (as in the REST benchmark): CONCURRENCY keep-alive connections for
 * `seconds`, each request from `next()`. Responses are read but not parsed, so the load
 * generator costs as little CPU as it can on this shared machine. Any answer but 2xx stops the
 * benchmark. `settleMs`: a pause before the CPU is read (see SETTLE_MS).
 */
async function measureHttp(base: string, next: () => SearchRequestLine, serverPid: number | undefined, seconds = SECONDS, settleMs = 0): Promise<Figures> {
  const cpu = cpuMeter(serverPid);
  const run = await runLoad({
    url: base,
    seconds,
    connections: CONCURRENCY,
    next: () => {
      const r = next();
      return { method: 'GET', path: r.path, headers: r.authorization ? { authorization: r.authorization } : undefined };
    },
  });
  const f = summarize([run]);
  if (f.failures > 0) throw new Error(`${base}: ${f.failureDetail}`);
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  return { p50: f.p50, p99: f.p99, rps: f.requestsPerSecond, n: f.total, cpu: cpu(f.total) };
}

/** Starts counting the CPU time of this process, the HTTP server (if any) and the database; the returned function gives it per request. */
function cpuMeter(serverPid?: number): (requests: number) => Figures['cpu'] {
  const bench = process.cpuUsage();
  const server = processCpuMs(serverPid);
  const db = processCpuMs(dbPid);
  const per = (before: number | undefined, after: number | undefined, n: number) =>
    before === undefined || after === undefined ? undefined : (after - before) / n;
  return (n) => {
    const used = process.cpuUsage(bench);
    return { bench: (used.user + used.system) / 1000 / n, server: per(server, processCpuMs(serverPid), n), db: per(db, processCpuMs(dbPid), n) };
  };
}

/** Runs `run` from CONCURRENCY clients for SECONDS (the in-process queries). */
async function measure(run: () => Promise<number>, seconds = SECONDS): Promise<Figures> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  const meter = cpuMeter();
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
  const cpu = meter(latencies.length);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), rps: latencies.length / elapsed, n: latencies.length, cpu };
}

async function main() {
  const config = loadConfig();
  let local: LocalDatabase | undefined;
  let tmp: string | undefined;
  let uri = config.mongoUri;
  const dir = KEEP_DIR ?? (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bench-')));
  fs.mkdirSync(dir, { recursive: true });
  if (!uri) {
    local = await startLocalDatabase(dir, createLogger('warn'), { binaryDir: config.dataDir, ferretDbCacheDir: config.ferretDbCacheDir });
    uri = local.uri;
  }
  // The server runs in its own process, configured as `npm start` would be (request log included,
  // to /dev/null), so that it does not share an event loop with the load generator. Its data
  // directory (mail outbox, AUTH_SECRET) stays with the database, so that a kept database's
  // signing keys and accounts remain readable by the next run.
  const serverDir = path.join(dir, 'server');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const serverEnv = {
    MONGODB_URI: uri,
    MONGODB_DB: SET.database,
    PORT: String(port),
    HOST: '127.0.0.1',
    BASE_URL: baseUrl,
    DATA_DIR: serverDir,
    AUTH_SECRET: loadSecret(undefined, serverDir).toString('base64'),
    LOAD_DEMO_DATA: 'false',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
  const serverConfig = loadConfig(serverEnv);
  const server = await startBenchProcess('FHIR server', path.join(import.meta.dirname, 'support/fhir-server-process.ts'), serverEnv, PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : []);
  dbPid = childPidsNamed(['ferretdb', 'mongod'])[0];
  let baseline: Awaited<ReturnType<typeof startBenchProcess>> | undefined;
  const client = await MongoClient.connect(uri);
  const db = client.db(SET.database);
  const fhir = `${baseUrl}/fhir`;
  try {
    const existing = await db.collection('Patient').estimatedDocumentCount();
    const meta = db.collection<{ _id: string; version: number }>('bench_meta');
    const version = (await meta.findOne({ _id: 'data' }))?.version ?? 1;
    if (!REUSE || existing < PATIENTS || version !== SET.dataVersion) {
      for (const t of SET.types) await db.collection(t).deleteMany({});
      const t0 = performance.now();
      const n = await loadResources(db, serverConfig, SET.data(PATIENTS));
      await meta.replaceOne({ _id: 'data' }, { version: SET.dataVersion }, { upsert: true });
      console.log(`loaded ${n} resources for ${PATIENTS} patients in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const today = new Date().toISOString().slice(0, 10);
    const callers = await prepareCallers(SET.caller, { config: serverConfig, db, mongoUri: uri, patients: PATIENTS, poolSize: POOL });
    const pick = callers.pick;
    // For the sanity check: a keep-alive node:http client that parses the Bundle and counts entries.
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const fetchBody = (url: string, authorization?: string) =>
      new Promise<string>((resolve, reject) => {
        http
          .get(url, { agent, headers: { accept: 'application/fhir+json', ...(authorization ? { authorization } : {}) } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode} ${text.slice(0, 300)}`));
              resolve(text);
            });
            res.on('error', reject);
          })
          .on('error', reject);
      });
    const entries = async (url: string, authorization?: string) => ((JSON.parse(await fetchBody(url, authorization)) as { entry?: unknown[] }).entry ?? []).length;
    const hints = await wantsKeyHints(db, 'auto');
    const scenarios = SET.scenarios(db, today, hints ? db.collection<KeyDocument>(KEY_HINTS_COLLECTION) : undefined);
    baseline = await startBenchProcess('HTTP baseline', path.join(import.meta.dirname, 'support/search-baseline-server.ts'), {
      mongoUri: uri,
      set: SET_NAME,
      port: await freePort(),
      today,
      keys: hints,
    });
    const baseUrlRaw = baseline.url;
    const raw = async (k: number, i: number) => (await scenarios[k].raw(i)).length;
    const search = (k: number, i: number) => fetchBody(`${fhir}/${scenarios[k].path(i)}`, callers.authorization(i));
    // Steady state first: each search PRIME times, for the first PRIME patients (every common name
    // of the lookups) or round the pool of patients with tokens, and on FerretDB until the server
    // has merged the lookup keys those reads asked to merge (key-compaction.ts), as it has on a
    // server that has been running.
    const primed = Array.from({ length: Math.min(PRIME, callers.pool ? PRIME : PATIENTS) }, (_, j) => (callers.pool ? callers.pool[j % callers.pool.length] : j));
    const chosen = scenarios.map((_, k) => k).filter((k) => !ONLY || scenarios[k].name.includes(ONLY));
    for (const k of chosen) {
      await callers.renew();
      for (const i of primed) await search(k, i);
    }
    if (hints && SET.keyPrefixes) await keysSettled(db, SET.keyPrefixes());
    await callers.renew();
    // Sanity: all three return the same number of documents for the same patient.
    console.log(`callers: ${callers.description}`);
    for (let k = 0; k < scenarios.length; k++) {
      const i = pick();
      const counts = [await entries(`${fhir}/${scenarios[k].path(i)}`, callers.authorization(i)), await raw(k, i), await entries(`${baseUrlRaw}/${k}/${i}`)];
      const same = new Set(counts).size === 1;
      console.log(`${same ? 'sanity' : 'WARNING'}: ${scenarios[k].name} for patient ${i}: engine, raw, raw over HTTP returned ${counts.join(', ')} entries`);
    }
    console.log(`\n${SET_NAME}: ${PATIENTS} patients, ${CONCURRENCY} concurrent clients, ${SECONDS} s per measurement\n`);
    console.log('raw: the hand-written query (with the access conditions of the token) with the driver in this process; raw/HTTP: the same query behind a bare node:http server.');
    console.log('CPU: milliseconds of CPU per request of the load generator (bench), the HTTP server and the database.\n');
    console.log(
      '| search | engine p50 ms | engine p99 ms | engine req/s | raw p50 ms | raw p99 ms | raw req/s | engine/raw | raw/HTTP p99 ms | raw/HTTP req/s | engine/(raw/HTTP) | CPU engine: bench / server / db | CPU raw: bench / db | CPU raw/HTTP: bench / server / db |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const ms = (v?: number) => (v === undefined ? '?' : v.toFixed(2));
    const cpu = (f: Figures) => [f.cpu.bench, f.cpu.server, f.cpu.db].filter((v, n) => n !== 1 || v !== undefined).map(ms).join(' / ');
    const engineRequest = (k: number) => () => {
      const i = pick();
      return { path: `/fhir/${scenarios[k].path(i)}`, authorization: callers.authorization(i) };
    };
    const rawHttpRequest = (k: number) => () => ({ path: `/${k}/${pick()}` });
    for (const k of chosen) {
      await callers.renew();
      await measureHttp(baseUrl, engineRequest(k), undefined, WARMUP_SECONDS, SETTLE_MS);
      await measure(() => raw(k, pick()), WARMUP_SECONDS);
      await measureHttp(baseline.url, rawHttpRequest(k), undefined, WARMUP_SECONDS);
    }
    for (const k of chosen) {
      await callers.renew();
      const e = await measureHttp(baseUrl, engineRequest(k), server.child.pid, SECONDS, SETTLE_MS);
      const r = await measure(() => raw(k, pick()));
      const h = await measureHttp(baseline.url, rawHttpRequest(k), baseline.child.pid);
      console.log(
        `| \`${scenarios[k].name.replaceAll('|', '\\|')}\` | ${e.p50.toFixed(1)} | ${e.p99.toFixed(1)} | ${e.rps.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.rps.toFixed(1)} | ${(e.rps / r.rps).toFixed(2)} ` +
          `| ${h.p99.toFixed(1)} | ${h.rps.toFixed(1)} | ${(e.rps / h.rps).toFixed(2)} | ${cpu(e)} | ${cpu(r)} | ${cpu(h)} |`,
      );
    }
  } finally {
    await client.close();
    await baseline?.stop();
    await server.stop();
    await local?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
