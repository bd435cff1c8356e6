// Audit benchmark: what recording every access in the audit trail costs a read. Two FHIR servers
// on one database, configured alike except AUDIT_ENABLED (true: every read is queued and written
// as an AuditEvent in batches; false: the trail is off, nothing else changes — tokens are checked
// and access rules applied the same way). The same read, GET /fhir/Patient/{id} with a backend
// services token, is measured against both in alternating slices.
//
//   npm run bench:audit            (or: npx tsx bench/audit-bench.ts)
//
// It starts everything itself (a local database in a temporary directory, or MONGODB_URI; the
// two servers as child processes) and stops it all at the end. Target: audited ≥ 0.9× unaudited.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import * as oidc from 'openid-client';
import { exportJWK, generateKeyPair } from 'jose';
import { loadConfig } from '../server/src/config.ts';
import { createLogger } from '../server/src/logger.ts';
import { freePort, startLocalDatabase, type LocalDatabase } from '../server/src/db/local-database.ts';
import { ClientRegistry } from '../server/src/auth/clients.ts';
import { SecretBox } from '../server/src/auth/secret-box.ts';
import { benchPatient } from './support/bench-patients.ts';
import { startBenchProcess, type BenchProcess } from './support/bench-processes.ts';
import { runLoad, summarize, type LoadFigures, type LoadRun } from './support/load-run.ts';
import { childPidsNamed, processCpuMs } from './support/process-cpu.ts';

// The benchmark's own knobs (this script is not the server: config.ts stays the only reader of
// the server's environment).
const BENCH = {
  /** Measured seconds per target. */
  seconds: Number(process.env.BENCH_SECONDS ?? 12),
  /** Slice length: the measured seconds alternate between the targets in runs this long. */
  sliceSeconds: Number(process.env.BENCH_SLICE_SECONDS ?? 2),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 10),
  /** Patients the reads spread over. */
  pool: Number(process.env.BENCH_POOL ?? 200),
  /** Pause after each slice, so the audited server's last batch is written before the other runs. */
  settleMs: Number(process.env.BENCH_SETTLE_MS ?? 700),
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
  /** The audited server's AUDIT_FLUSH_MS (its default when unset). */
  auditFlushMs: process.env.BENCH_AUDIT_FLUSH_MS || undefined,
  /** When set, both servers run with --cpu-prof and write their profiles under this directory. */
  cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
};
for (const [name, value] of Object.entries(BENCH)) {
  if (typeof value === 'number' && !(value >= 0 && Number.isFinite(value))) throw new Error(`BENCH setting ${name} must be a non-negative number`);
}

const TARGET = 0.9;
const benchDir = path.dirname(fileURLToPath(import.meta.url));
type Target = 'audited' | 'unaudited';
type Measured = LoadFigures & { cpuMsPerRequest?: number; dbCpuMsPerRequest?: number };

const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch((err: unknown) => process.stderr.write(`cleanup: ${(err as Error).message}\n`));
}
const progress = (msg: string) => process.stderr.write(`${msg}\n`);
const fmt = (n: number, digits = 0) => n.toFixed(digits);

async function startDatabase(): Promise<string> {
  const config = loadConfig();
  if (config.mongoUri) return config.mongoUri;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bench-audit-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const db: LocalDatabase = await startLocalDatabase(dir, createLogger('warn'), { binaryDir: config.dataDir, ferretDbCacheDir: config.ferretDbCacheDir });
  cleanups.push(() => db.stop());
  progress(`database: ${db.kind} at ${db.uri} (data in ${dir})`);
  return db.uri;
}

/** Registers a backend-services client in the database both servers use (as `npm run admin -- clients add` would). */
async function registerClient(mongoUri: string, databaseName: string, secret: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = `bench-${Date.now()}`;
  const client = new MongoClient(mongoUri);
  try {
    const registry = new ClientRegistry(client.db(databaseName), new SecretBox(Buffer.from(secret, 'base64')));
    const created = await registry.create({
      name: 'Audit benchmark',
      type: 'backend',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' }] },
      scope: 'system/*.cruds',
    });
    return { clientId: created.clientId, privateKey: privateKey as CryptoKey, kid };
  } finally {
    await client.close();
  }
}

/** A fresh access token from a server's token endpoint (tokens are for that server's FHIR base). */
async function tokenFrom(url: string, c: Awaited<ReturnType<typeof registerClient>>): Promise<string> {
  const config = await oidc.discovery(new URL(`${url}/auth`), c.clientId, { token_endpoint_auth_signing_alg: 'ES384' }, oidc.PrivateKeyJwt({ key: c.privateKey, kid: c.kid }), {
    execute: [oidc.allowInsecureRequests],
  });
  return (await oidc.clientCredentialsGrant(config, { scope: 'system/*.cruds' })).access_token;
}

async function seedPatients(fhirUrl: string, token: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await fetch(`${fhirUrl}/Patient`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', authorization: `Bearer ${token}` },
        body: JSON.stringify(benchPatient(i)),
      });
      if (res.status !== 201) throw new Error(`seeding a Patient answered ${res.status}: ${await res.text()}`);
      ids.push(res.headers.get('location')!.split('/Patient/')[1].split('/')[0]);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return ids;
}

async function main(): Promise<void> {
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  progress(`Audit benchmark: reads, ${BENCH.seconds} s per target in ${BENCH.sliceSeconds} s slices, alternating, ${BENCH.connections} connections; ${os.cpus().length} CPUs; load average ${load()}`);
  const mongoUri = await startDatabase();
  const databaseName = `bench_audit_${Date.now().toString(36)}`;
  cleanups.push(async () => {
    const client = await MongoClient.connect(mongoUri);
    await client.db(databaseName).dropDatabase().catch(() => undefined);
    await client.close();
  });
  const secret = randomBytes(32).toString('base64');
  const servers = {} as Record<Target, BenchProcess>;
  for (const target of ['audited', 'unaudited'] as const) {
    const port = await freePort();
    servers[target] = await startBenchProcess(`FHIR server (${target})`, path.join(benchDir, 'support', 'fhir-server-process.ts'), {
      MONGODB_URI: mongoUri,
      MONGODB_DB: databaseName,
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: BENCH.logLevel,
      LOAD_DEMO_DATA: 'false',
      AUTH_SECRET: secret,
      AUDIT_ENABLED: String(target === 'audited'),
      ...(BENCH.auditFlushMs ? { AUDIT_FLUSH_MS: BENCH.auditFlushMs } : {}),
    }, BENCH.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${BENCH.cpuProfDir}/${target}`] : []);
    cleanups.push(() => servers[target].stop());
  }
  progress(`audited ${servers.audited.url}, unaudited ${servers.unaudited.url}, database ${databaseName}`);
  const client = await registerClient(mongoUri, databaseName, secret);
  const pool = await seedPatients(`${servers.audited.url}/fhir`, await tokenFrom(servers.audited.url, client), BENCH.pool);
  progress(`seeded ${pool.length} Patients`);

  const dbPid = childPidsNamed(['ferretdb', 'mongod'])[0];
  const runs: Record<Target, LoadRun[]> = { audited: [], unaudited: [] };
  const cpu: Record<Target, { own: number; db: number } | undefined> = { audited: { own: 0, db: 0 }, unaudited: { own: 0, db: 0 } };
  const run = async (who: Target, seconds: number) => {
    // A fresh token per slice: backend tokens live at most five minutes.
    const token = await tokenFrom(servers[who].url, client);
    const next = () => ({ method: 'GET', path: `/fhir/Patient/${pool[Math.floor(Math.random() * pool.length)]}` });
    return runLoad({ url: servers[who].url, connections: BENCH.connections, seconds, next, headers: { authorization: `Bearer ${token}` } });
  };
  const settle = () => new Promise((r) => setTimeout(r, BENCH.settleMs));
  for (const who of ['unaudited', 'audited'] as const) if (BENCH.warmupSeconds > 0) await run(who, BENCH.warmupSeconds);
  await settle();
  const slices = Math.max(1, Math.round(BENCH.seconds / BENCH.sliceSeconds));
  for (let i = 0; i < slices; i++) {
    for (const who of i % 2 === 0 ? (['unaudited', 'audited'] as const) : (['audited', 'unaudited'] as const)) {
      const ownBefore = processCpuMs(servers[who].child.pid);
      const dbBefore = processCpuMs(dbPid);
      runs[who].push(await run(who, BENCH.sliceSeconds));
      // The audited server's writes of this slice are part of its cost: counted before the next slice.
      await settle();
      const ownAfter = processCpuMs(servers[who].child.pid);
      const dbAfter = processCpuMs(dbPid);
      const acc = cpu[who];
      if (acc && ownBefore !== undefined && ownAfter !== undefined && dbBefore !== undefined && dbAfter !== undefined) {
        acc.own += ownAfter - ownBefore;
        acc.db += dbAfter - dbBefore;
      } else cpu[who] = undefined;
    }
  }
  const measured = (who: Target): Measured => {
    const f: Measured = summarize(runs[who]);
    const acc = cpu[who];
    if (acc && f.total > 0) {
      f.cpuMsPerRequest = acc.own / f.total;
      f.dbCpuMsPerRequest = dbPid === undefined ? undefined : acc.db / f.total;
    }
    return f;
  };
  const audited = measured('audited');
  const unaudited = measured('unaudited');
  const written = await countAuditEvents(mongoUri, databaseName);
  const ratio = audited.requestsPerSecond / unaudited.requestsPerSecond;
  const cpuText = (f: Measured) => `${f.cpuMsPerRequest?.toFixed(2) ?? '?'} / ${f.dbCpuMsPerRequest?.toFixed(2) ?? '?'}`;
  process.stdout.write(`\nAudit cost on reads, ${BENCH.connections} connections, ${BENCH.seconds} s per target, ${os.cpus().length} CPUs, load average at the end ${load()}\n`);
  process.stdout.write('| read `GET /fhir/Patient/{id}` | req/s | p50 ms | p99 ms | CPU ms/req: server / db | not 2xx |\n|---|---:|---:|---:|---:|---:|\n');
  for (const [name, f] of [['audit trail off', unaudited], ['audit trail on', audited]] as const) {
    process.stdout.write(`| ${name} | ${fmt(f.requestsPerSecond)} | ${fmt(f.p50, 1)} | ${fmt(f.p99, 1)} | ${cpuText(f)} | ${f.failures} |\n`);
  }
  process.stdout.write(`\naudited / unaudited throughput: ${fmt(ratio, 2)}× (target ≥ ${TARGET}×: ${ratio >= TARGET ? 'pass' : 'FAIL'}); AuditEvents written: ${written} for ${audited.total} audited reads (+ seeding)\n`);
}

async function countAuditEvents(mongoUri: string, databaseName: string): Promise<number> {
  const client = await MongoClient.connect(mongoUri);
  try {
    return await client.db(databaseName).collection('AuditEvent').countDocuments();
  } finally {
    await client.close();
  }
}

const deadline = setTimeout(() => {
  progress('benchmark overran its time limit; stopping');
  void cleanUp().finally(() => process.exit(1));
}, (4 * BENCH.seconds + 2 * BENCH.warmupSeconds + 600) * 1000);
deadline.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

try {
  await main();
} catch (err) {
  process.stderr.write(`audit benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
