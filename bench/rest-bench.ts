// REST benchmark: read (GET /fhir/Patient/{id}), create (POST /fhir/Patient) and update
// (PUT /fhir/Patient/{id}) under concurrent load, each beside a baseline in the same run: a bare
// node:http handler doing the same MongoDB operations with the raw driver on the same database
// (see support/baseline-server.ts). Prints req/s, p50/p99 latency and the server/baseline ratio.
// The server is measured as deployed: every request carries a SMART backend-services token
// (client_credentials with private_key_jwt from its token endpoint, a fresh one per run) that the
// server checks and applies; the baseline has no authorization.
//
//   npm run bench:rest            (or: npx tsx bench/rest-bench.ts)
//
// It starts everything itself: a local database in a temporary directory (FerretDB from
// .data/bin, or mongod on the PATH; MONGODB_URI when set, through config.ts), the FHIR server
// and the baseline as child processes on free loopback ports, one fresh database name for both.
// It stops them all and removes the temporary directory when it ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../server/src/config.ts';
import { createLogger } from '../server/src/logger.ts';
import { freePort, startLocalDatabase, type LocalDatabase } from '../server/src/db/local-database.ts';
import { registerClient, tokenFrom } from './support/bench-client.ts';
import { benchPatient, seedPatients } from './support/bench-patients.ts';
import { startBenchProcess, type BenchProcess } from './support/bench-processes.ts';
import { runLoad, summarize, type LoadFigures, type LoadRun } from './support/load-run.ts';
import { childPidsNamed, processCpuMs } from './support/process-cpu.ts';

// The benchmark's own knobs. Read here, at the top, because this script is not the server:
// config.ts stays the only reader of the server's environment.
const BENCH = {
  /** Measured seconds per scenario and target. */
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  /**
   * The measured seconds are cut into runs of this length, alternating server and baseline, so
   * that changes in the machine's other load fall on both alike.
   */
  sliceSeconds: Number(process.env.BENCH_SLICE_SECONDS ?? 2),
  /** Unmeasured seconds per target before each scenario (JIT, pools, validator caches). */
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 10),
  /**
   * Pause after each measured run before its CPU is read, so that work the server does after
   * answering (the audit trail's batched writes) counts for its own run, not the next one.
   */
  settleMs: Number(process.env.BENCH_SETTLE_MS ?? 700),
  /** Existing Patients the reads and updates spread over (per target for updates). */
  pool: Number(process.env.BENCH_POOL ?? 200),
  /** The server's log level: info, as `npm start` runs it, so request logging is measured too. */
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
  /** Comma-separated subset of read,update,create (always run in that order). */
  scenarios: (process.env.BENCH_SCENARIOS ?? 'read,update,create').split(',').map((s) => s.trim()),
  /** When set, the server runs with --cpu-prof and writes its profile into this directory. */
  cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
};

for (const [name, value] of Object.entries(BENCH)) {
  if (typeof value === 'number' && !(value >= 0 && Number.isFinite(value))) throw new Error(`BENCH setting ${name} must be a non-negative number`);
}
if (BENCH.seconds <= 0 || BENCH.connections < 1 || BENCH.pool < 1) throw new Error('BENCH_SECONDS, BENCH_CONNECTIONS and BENCH_POOL must be positive');

const TARGETS: Record<string, number | undefined> = { read: 0.6, create: 0.5, update: undefined };
const benchDir = path.dirname(fileURLToPath(import.meta.url));

interface Scenario {
  name: string;
  /** A request generator per target (update pools differ between server and baseline). */
  next(target: Target): () => { method: string; path: string; body?: string };
}

/**
 * A load run's figures plus CPU milliseconds per request served: of the target process, and of
 * the database process when this script started it (the same database serves both targets).
 */
type Measured = LoadFigures & { cpuMsPerRequest?: number; dbCpuMsPerRequest?: number };

type Target = 'server' | 'baseline';

interface Row {
  scenario: string;
  server: Measured;
  baseline: Measured;
}

const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch((err: unknown) => process.stderr.write(`cleanup: ${(err as Error).message}\n`));
}

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

async function startDatabase(): Promise<string> {
  const config = loadConfig();
  if (config.mongoUri) return config.mongoUri;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bench-rest-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const db: LocalDatabase = await startLocalDatabase(dir, createLogger('warn'), {
    binaryDir: config.dataDir,
    ferretDbCacheDir: config.ferretDbCacheDir,
  });
  cleanups.push(() => db.stop());
  progress(`database: ${db.kind} at ${db.uri} (data in ${dir})`);
  return db.uri;
}

function scenarios(pools: { read: string[]; update: Record<Target, string[]> }): Scenario[] {
  const random = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
  const createBodies = Array.from({ length: 256 }, (_, i) => JSON.stringify(benchPatient(10_000 + i)));
  return [
    {
      name: 'read',
      next: () => () => ({ method: 'GET', path: `/fhir/Patient/${random(pools.read)}` }),
    },
    {
      name: 'update',
      next: (target) => {
        // Bodies prepared up front, one per id, so both targets spend the same client CPU.
        const bodies = pools.update[target].map((id, i) => [id, JSON.stringify(benchPatient(20_000 + i, id))] as const);
        return () => {
          const [id, body] = random(bodies as Array<readonly [string, string]>);
          return { method: 'PUT', path: `/fhir/Patient/${id}`, body };
        };
      },
    },
    {
      name: 'create',
      next: () => {
        let i = 0;
        return () => ({ method: 'POST', path: '/fhir/Patient', body: createBodies[i++ % createBodies.length] });
      },
    },
  ];
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

function printTable(rows: Row[]): void {
  const header = ['scenario', 'server req/s', 'p50 ms', 'p99 ms', 'baseline req/s', 'p50 ms', 'p99 ms', 'ratio', 'target', 'result', 'CPU ms/req: server', 'baseline', 'db (server)', 'db (baseline)'];
  const cpu = (ms: number | undefined) => (ms === undefined ? '?' : fmt(ms, 2));
  const lines = rows.map((r) => {
    const ratio = r.server.requestsPerSecond / r.baseline.requestsPerSecond;
    const target = TARGETS[r.scenario];
    return [
      r.scenario,
      fmt(r.server.requestsPerSecond),
      fmt(r.server.p50, 1),
      fmt(r.server.p99, 1),
      fmt(r.baseline.requestsPerSecond),
      fmt(r.baseline.p50, 1),
      fmt(r.baseline.p99, 1),
      `${fmt(ratio, 2)}×`,
      target === undefined ? '—' : `≥ ${target}×`,
      target === undefined ? 'n/a' : ratio >= target ? 'pass' : 'FAIL',
      cpu(r.server.cpuMsPerRequest),
      cpu(r.baseline.cpuMsPerRequest),
      cpu(r.server.dbCpuMsPerRequest),
      cpu(r.baseline.dbCpuMsPerRequest),
    ];
  });
  const out = [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`);
  process.stdout.write(`${out.join('\n')}\n`);
  for (const r of rows) {
    for (const [who, f] of [['server', r.server], ['baseline', r.baseline]] as const) {
      process.stdout.write(`${r.scenario} ${who}: ${f.total} requests, ${f.failures} not 2xx${f.failureDetail ? ` (${f.failureDetail})` : ''}\n`);
    }
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  progress(`REST benchmark: ${BENCH.seconds} s per scenario and target in ${BENCH.sliceSeconds} s runs, alternating, after ${BENCH.warmupSeconds} s warm-up, ${BENCH.connections} connections, pool ${BENCH.pool}; ${os.cpus().length} CPUs; load average ${load()}`);
  const mongoUri = await startDatabase();
  const databaseName = `bench_rest_${Date.now().toString(36)}`;
  cleanups.push(async () => {
    const client = await MongoClient.connect(mongoUri);
    await client.db(databaseName).dropDatabase().catch(() => undefined);
    await client.close();
  });

  // The servers' AUTH_SECRET: the benchmark registers its backend client with it (support/bench-client.ts).
  const secret = randomBytes(32).toString('base64');
  const serverPort = await freePort();
  const server: BenchProcess = await startBenchProcess(
    'FHIR server',
    path.join(benchDir, 'support', 'fhir-server-process.ts'),
    {
      MONGODB_URI: mongoUri,
      MONGODB_DB: databaseName,
      PORT: String(serverPort),
      HOST: '127.0.0.1',
      BASE_URL: `http://127.0.0.1:${serverPort}`,
      LOG_LEVEL: BENCH.logLevel,
      LOAD_DEMO_DATA: 'false',
      AUTH_SECRET: secret,
    },
    BENCH.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${BENCH.cpuProfDir}`] : [],
  );
  cleanups.push(() => server.stop());
  const baseline: BenchProcess = await startBenchProcess('baseline', path.join(benchDir, 'support', 'baseline-server.ts'), {
    mongoUri,
    databaseName,
    port: await freePort(),
  });
  cleanups.push(() => baseline.stop());
  progress(`server ${server.url}, baseline ${baseline.url}, database ${databaseName}`);

  const client = await registerClient(mongoUri, databaseName, secret);
  const fhirUrl = `${server.url}/fhir`;
  const seedToken = await tokenFrom(server.url, client);
  const pools = {
    read: await seedPatients(fhirUrl, seedToken, BENCH.pool, 0),
    update: {
      server: await seedPatients(fhirUrl, seedToken, BENCH.pool, BENCH.pool),
      baseline: await seedPatients(fhirUrl, seedToken, BENCH.pool, 2 * BENCH.pool),
    },
  };
  progress(`seeded ${3 * BENCH.pool} Patients through the server`);

  // The local database is our child process (absent with MONGODB_URI): its CPU is reported too.
  const dbPid = childPidsNamed(['ferretdb', 'mongod'])[0];
  const rows: Row[] = [];
  const slices = Math.max(1, Math.round(BENCH.seconds / BENCH.sliceSeconds));
  const sliceSeconds = Math.max(1, Math.round(BENCH.seconds / slices));
  const targets = { baseline, server };
  for (const scenario of scenarios(pools).filter((s) => BENCH.scenarios.includes(s.name))) {
    const runs: Record<Target, LoadRun[]> = { server: [], baseline: [] };
    const cpu: Record<Target, { own: number; db: number } | undefined> = { server: { own: 0, db: 0 }, baseline: { own: 0, db: 0 } };
    // The server's requests carry a token fetched just before each run (backend tokens live five
    // minutes), outside the measured CPU; the bare baseline has no authorization.
    const headersFor = async (who: Target) => (who === 'server' ? { authorization: `Bearer ${await tokenFrom(server.url, client)}` } : undefined);
    const run = (who: Target, seconds: number, headers: Record<string, string> | undefined) =>
      runLoad({ url: targets[who].url, connections: BENCH.connections, seconds, next: scenario.next(who), headers });
    const settle = () => new Promise((resolve) => setTimeout(resolve, BENCH.settleMs));
    for (const who of ['baseline', 'server'] as const) if (BENCH.warmupSeconds > 0) await run(who, BENCH.warmupSeconds, await headersFor(who));
    await settle();
    for (let i = 0; i < slices; i++) {
      // baseline, server, server, baseline, baseline, server, ...
      for (const who of i % 2 === 0 ? (['baseline', 'server'] as const) : (['server', 'baseline'] as const)) {
        const headers = await headersFor(who);
        const ownBefore = processCpuMs(targets[who].child.pid);
        const dbBefore = processCpuMs(dbPid);
        runs[who].push(await run(who, sliceSeconds, headers));
        // The server records each request in the audit trail in batches after answering: the
        // pause lets the last batch be written within the slice it belongs to.
        await settle();
        const ownAfter = processCpuMs(targets[who].child.pid);
        const dbAfter = processCpuMs(dbPid);
        const acc = cpu[who];
        if (acc && ownBefore !== undefined && ownAfter !== undefined && dbBefore !== undefined && dbAfter !== undefined) {
          acc.own += ownAfter - ownBefore;
          acc.db += dbAfter - dbBefore;
        } else {
          cpu[who] = undefined;
        }
      }
    }
    const measured = (who: Target): Measured => {
      const f: Measured = summarize(runs[who]);
      const acc = cpu[who];
      if (acc && f.total > 0) {
        f.cpuMsPerRequest = acc.own / f.total;
        f.dbCpuMsPerRequest = dbPid === undefined ? undefined : acc.db / f.total;
      }
      progress(`${scenario.name.padEnd(6)} ${who.padEnd(8)} ${fmt(f.requestsPerSecond)} req/s, p50 ${fmt(f.p50, 1)} ms, p99 ${fmt(f.p99, 1)} ms, ${f.failures} not 2xx, CPU ms/req ${f.cpuMsPerRequest?.toFixed(2) ?? '?'} (database ${f.dbCpuMsPerRequest?.toFixed(2) ?? '?'}); load average ${load()}`);
      return f;
    };
    rows.push({ scenario: scenario.name, baseline: measured('baseline'), server: measured('server') });
  }
  process.stdout.write(`\nREST read/create/update, ${BENCH.connections} connections, ${BENCH.seconds} s each, ${os.cpus().length} CPUs, load average at the end ${load()}\n`);
  printTable(rows);
  progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

// Bounded: whatever happens, give up well after the planned duration.
const plannedSeconds = BENCH.scenarios.length * 2 * (BENCH.seconds + BENCH.warmupSeconds + 10);
const deadline = setTimeout(() => {
  progress('benchmark overran its time limit; stopping');
  void cleanUp().finally(() => process.exit(1));
}, (plannedSeconds + 300) * 1000);
deadline.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

try {
  await main();
} catch (err) {
  process.stderr.write(`REST benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
