// Two FHIR servers on one database, alike but for one thing, and the same read measured against
// both in alternating slices (this machine's other load then falls on both evenly): the audit
// benchmark (trail on / off) and the token-check benchmark (checked / not) are both this.
//
// It starts everything itself (a local database in a temporary directory, or MONGODB_URI; the two
// servers as child processes configured like `npm start`), registers a backend-services client in
// the database (as `npm run admin -- clients add` would), seeds Patients through the API, measures
// `GET /fhir/Patient/{id}` with a backend-services token from the token endpoint, and stops it all.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { loadConfig } from '../../server/src/config.ts';
import { createLogger } from '../../server/src/logger.ts';
import { freePort, startLocalDatabase, type LocalDatabase } from '../../server/src/db/local-database.ts';
import { registerClient, tokenFrom } from './bench-client.ts';
import { seedPatients } from './bench-patients.ts';
import { startBenchProcess, type BenchProcess } from './bench-processes.ts';
import { runLoad, summarize, type LoadFigures, type LoadRun } from './load-run.ts';
import { childPidsNamed, processCpuMs } from './process-cpu.ts';

/** The benchmark's own knobs (read here: config.ts stays the only reader of the server's environment). */
export interface PairedSettings {
  /** Measured seconds per target. */
  seconds: number;
  /** The measured seconds alternate between the targets in runs this long. */
  sliceSeconds: number;
  warmupSeconds: number;
  connections: number;
  /** Patients the reads spread over. */
  pool: number;
  /** Pause after each slice, so work a server does after answering (audit writes) is counted in its slice. */
  settleMs: number;
  logLevel: string;
  /** When set, both servers run with --cpu-prof and write their profiles under this directory. */
  cpuProfDir?: string;
}

export function pairedSettings(env: NodeJS.ProcessEnv = process.env): PairedSettings {
  const settings: PairedSettings = {
    seconds: Number(env.BENCH_SECONDS ?? 12),
    sliceSeconds: Number(env.BENCH_SLICE_SECONDS ?? 2),
    warmupSeconds: Number(env.BENCH_WARMUP_SECONDS ?? 3),
    connections: Number(env.BENCH_CONNECTIONS ?? 10),
    pool: Number(env.BENCH_POOL ?? 200),
    settleMs: Number(env.BENCH_SETTLE_MS ?? 700),
    logLevel: env.BENCH_LOG_LEVEL ?? 'info',
    cpuProfDir: env.BENCH_CPU_PROF || undefined,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value === 'number' && !(value >= 0 && Number.isFinite(value))) throw new Error(`BENCH setting ${name} must be a non-negative number`);
  }
  return settings;
}

export interface PairedTarget {
  /** Row label in the table, e.g. "audit trail on". */
  label: string;
  /** The child process script (it reports { ready: url } over IPC, see fhir-server-process.ts). */
  script: string;
  /** Environment for the server besides the database, port and secret. */
  env: Record<string, string>;
  /**
   * Work the server still owes after answering (the audit journal's documents not yet turned into
   * AuditEvents): after each of its slices the harness waits until this is 0, and counts the wait
   * beyond the settle pause and the CPU spent meanwhile in the slice.
   */
  backlog?: (db: Db) => Promise<number>;
}

export type PairedFigures = LoadFigures & {
  /** CPU of the server and of the database per request, over the whole slice (settle pause and catch-up included). */
  cpuMsPerRequest?: number;
  dbCpuMsPerRequest?: number;
  /** The same while the load ran only. */
  loadCpuMsPerRequest?: number;
  loadDbCpuMsPerRequest?: number;
  /** Seconds spent after the slices (beyond the settle pauses) until the owed work was done. */
  catchUpSeconds: number;
  /** Requests per second over the slices and the catch-up: the throughput this server sustains with its background work done. */
  sustainedPerSecond: number;
};

export interface PairedResult {
  /** The figures of target a, then b. */
  a: PairedFigures;
  b: PairedFigures;
  /** a's throughput over b's, while the load runs. */
  ratio: number;
  /** The same with the work owed after the load (catch-up) counted in each one's time. */
  sustainedRatio: number;
  mongoUri: string;
  databaseName: string;
}

const progress = (msg: string) => process.stderr.write(`${msg}\n`);
export const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Runs the pair; `inspect` sees the database before it is dropped. */
export async function runPairedReads(
  name: string,
  settings: PairedSettings,
  targets: { a: PairedTarget; b: PairedTarget },
  inspect?: (mongoUri: string, databaseName: string) => Promise<void>,
): Promise<PairedResult> {
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async () => {
    while (cleanups.length) await cleanups.pop()!().catch((err: unknown) => progress(`cleanup: ${(err as Error).message}`));
  };
  const deadline = setTimeout(
    () => {
      progress('benchmark overran its time limit; stopping');
      void cleanUp().finally(() => process.exit(1));
    },
    (4 * settings.seconds + 2 * settings.warmupSeconds + 600) * 1000,
  );
  deadline.unref();
  const interrupted = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    progress(`${name}: ${settings.seconds} s per target in ${settings.sliceSeconds} s slices, alternating, ${settings.connections} connections; ${os.cpus().length} CPUs; load average ${loadAverage()}`);
    const mongoUri = await startDatabase(cleanups);
    const databaseName = `bench_${Date.now().toString(36)}`;
    cleanups.push(async () => {
      const client = await MongoClient.connect(mongoUri);
      await client.db(databaseName).dropDatabase().catch(() => undefined);
      await client.close();
    });
    const secret = randomBytes(32).toString('base64');
    const servers = {} as Record<'a' | 'b', BenchProcess>;
    for (const key of ['a', 'b'] as const) {
      const port = await freePort();
      const t = targets[key];
      servers[key] = await startBenchProcess(
        `FHIR server (${t.label})`,
        t.script,
        {
          MONGODB_URI: mongoUri,
          MONGODB_DB: databaseName,
          PORT: String(port),
          HOST: '127.0.0.1',
          BASE_URL: `http://127.0.0.1:${port}`,
          LOG_LEVEL: settings.logLevel,
          LOAD_DEMO_DATA: 'false',
          AUTH_SECRET: secret,
          ...t.env,
        },
        settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}/${key}`] : [],
      );
      cleanups.push(() => servers[key].stop());
    }
    progress(`${targets.a.label}: ${servers.a.url}; ${targets.b.label}: ${servers.b.url}; database ${databaseName}`);
    const client = await registerClient(mongoUri, databaseName, secret);
    const pool = await seedPatients(`${servers.a.url}/fhir`, await tokenFrom(servers.a.url, client), settings.pool);
    progress(`seeded ${pool.length} Patients`);

    const dbPid = childPidsNamed(['ferretdb', 'mongod'])[0];
    const runs: Record<'a' | 'b', LoadRun[]> = { a: [], b: [] };
    // CPU of the whole slice (load, settle pause, catch-up), and of the load alone.
    const cpu: Record<'a' | 'b', { own: number; db: number; loadOwn: number; loadDb: number } | undefined> = {
      a: { own: 0, db: 0, loadOwn: 0, loadDb: 0 },
      b: { own: 0, db: 0, loadOwn: 0, loadDb: 0 },
    };
    const run = async (who: 'a' | 'b', seconds: number) => {
      // A fresh token per slice: backend tokens live at most five minutes.
      const token = await tokenFrom(servers[who].url, client);
      const next = () => ({ method: 'GET', path: `/fhir/Patient/${pool[Math.floor(Math.random() * pool.length)]}` });
      return runLoad({ url: servers[who].url, connections: settings.connections, seconds, next, headers: { authorization: `Bearer ${token}` } });
    };
    const settle = () => new Promise((r) => setTimeout(r, settings.settleMs));
    // Owed work is looked at through a client of the harness's own.
    const watcher = targets.a.backlog || targets.b.backlog ? await MongoClient.connect(mongoUri) : undefined;
    if (watcher) cleanups.push(() => watcher.close());
    const catchUp: Record<'a' | 'b', number> = { a: 0, b: 0 };
    const catchUpAfter = async (who: 'a' | 'b') => {
      const backlog = targets[who].backlog;
      if (!backlog || !watcher) return;
      const start = performance.now();
      while ((await backlog(watcher.db(databaseName))) > 0) await new Promise((r) => setTimeout(r, 100));
      catchUp[who] += (performance.now() - start) / 1000;
    };
    for (const who of ['b', 'a'] as const) if (settings.warmupSeconds > 0) await run(who, settings.warmupSeconds);
    await settle();
    for (const who of ['b', 'a'] as const) await catchUpAfter(who);
    catchUp.a = catchUp.b = 0;
    const slices = Math.max(1, Math.round(settings.seconds / settings.sliceSeconds));
    for (let i = 0; i < slices; i++) {
      for (const who of i % 2 === 0 ? (['b', 'a'] as const) : (['a', 'b'] as const)) {
        const ownBefore = processCpuMs(servers[who].child.pid);
        const dbBefore = processCpuMs(dbPid);
        runs[who].push(await run(who, settings.sliceSeconds));
        const ownLoaded = processCpuMs(servers[who].child.pid);
        const dbLoaded = processCpuMs(dbPid);
        await settle();
        await catchUpAfter(who);
        const ownAfter = processCpuMs(servers[who].child.pid);
        const dbAfter = processCpuMs(dbPid);
        const acc = cpu[who];
        if (acc && ownBefore !== undefined && ownAfter !== undefined && dbBefore !== undefined && dbAfter !== undefined && ownLoaded !== undefined && dbLoaded !== undefined) {
          acc.own += ownAfter - ownBefore;
          acc.db += dbAfter - dbBefore;
          acc.loadOwn += ownLoaded - ownBefore;
          acc.loadDb += dbLoaded - dbBefore;
        } else cpu[who] = undefined;
      }
    }
    const measured = (who: 'a' | 'b'): PairedFigures => {
      const summary = summarize(runs[who]);
      const loadSeconds = runs[who].reduce((sum, r) => sum + r.seconds, 0);
      const f: PairedFigures = { ...summary, catchUpSeconds: catchUp[who], sustainedPerSecond: summary.total / (loadSeconds + catchUp[who]) };
      const acc = cpu[who];
      if (acc && f.total > 0) {
        f.cpuMsPerRequest = acc.own / f.total;
        f.dbCpuMsPerRequest = dbPid === undefined ? undefined : acc.db / f.total;
        f.loadCpuMsPerRequest = acc.loadOwn / f.total;
        f.loadDbCpuMsPerRequest = dbPid === undefined ? undefined : acc.loadDb / f.total;
      }
      return f;
    };
    const a = measured('a');
    const b = measured('b');
    if (inspect) await inspect(mongoUri, databaseName);
    return { a, b, ratio: a.requestsPerSecond / b.requestsPerSecond, sustainedRatio: a.sustainedPerSecond / b.sustainedPerSecond, mongoUri, databaseName };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    clearTimeout(deadline);
    await cleanUp();
  }
}

/** The table of both targets, in markdown; with `catchUp`, the columns of work owed after the load. */
export function pairedTable(what: string, rows: Array<[string, PairedFigures]>, o: { catchUp?: boolean } = {}): string {
  const fmt = (n: number, digits = 0) => n.toFixed(digits);
  const cpuText = (f: PairedFigures) => `${f.cpuMsPerRequest?.toFixed(2) ?? '?'} / ${f.dbCpuMsPerRequest?.toFixed(2) ?? '?'}`;
  const loadCpuText = (f: PairedFigures) => `${f.loadCpuMsPerRequest?.toFixed(2) ?? '?'} / ${f.loadDbCpuMsPerRequest?.toFixed(2) ?? '?'}`;
  const extra = o.catchUp ? ' of it while loaded | catch-up s | req/s with catch-up |' : '';
  let out = `| ${what} | req/s | p50 ms | p99 ms | CPU ms/req: server / db |${extra} not 2xx |\n|---|---:|---:|---:|---:|${o.catchUp ? '---:|---:|---:|' : ''}---:|\n`;
  for (const [label, f] of rows) {
    const catchUp = o.catchUp ? ` ${loadCpuText(f)} | ${fmt(f.catchUpSeconds, 1)} | ${fmt(f.sustainedPerSecond)} |` : '';
    out += `| ${label} | ${fmt(f.requestsPerSecond)} | ${fmt(f.p50, 1)} | ${fmt(f.p99, 1)} | ${cpuText(f)} |${catchUp} ${f.failures}${f.failureDetail ? ` (${f.failureDetail})` : ''} |\n`;
  }
  return out;
}

async function startDatabase(cleanups: Array<() => Promise<void>>): Promise<string> {
  const config = loadConfig();
  if (config.mongoUri) return config.mongoUri;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bench-pair-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const db: LocalDatabase = await startLocalDatabase(dir, createLogger('warn'), { binaryDir: config.dataDir, ferretDbCacheDir: config.ferretDbCacheDir });
  cleanups.push(() => db.stop());
  progress(`database: ${db.kind} at ${db.uri} (data in ${dir})`);
  return db.uri;
}
