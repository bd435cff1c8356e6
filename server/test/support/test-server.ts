// One real database and one real server per test run: a local database (FerretDB, or mongod
// when on the PATH, or MONGODB_URI when the runner sets one) started in a fresh temporary data
// directory, and the server listening on a free port with a database name of its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { loadConfig, type ServerConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { freePort, startLocalDatabase, type LocalDatabase } from '../../src/db/local-database.ts';
import { startServer, type RunningServer } from '../../src/server.ts';

export interface TestServer {
  /** e.g. http://localhost:41234 */
  baseUrl: string;
  /** e.g. http://localhost:41234/fhir */
  fhirUrl: string;
  mongoUri: string;
  databaseName: string;
  running: RunningServer;
}

let database: LocalDatabase | undefined;
let mongoUri: string | undefined;
let server: TestServer | undefined;
let tempDir: string | undefined;

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');

/** The run's database (started on first use). */
export async function testDatabaseUri(): Promise<string> {
  if (mongoUri) return mongoUri;
  const base = loadConfig();
  if (base.mongoUri) {
    mongoUri = base.mongoUri;
    return mongoUri;
  }
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-test-'));
  database = await startLocalDatabase(tempDir, createLogger('warn'), {
    binaryDir: base.dataDir,
    ferretDbCacheDir: base.ferretDbCacheDir,
  });
  mongoUri = database.uri;
  return mongoUri;
}

/** Configuration for a server in this test run, on its own database name and port. */
export async function testConfig(overrides: Partial<ServerConfig> = {}): Promise<ServerConfig> {
  const port = overrides.port ?? (await freePort());
  const base = loadConfig({ ...process.env, PORT: String(port), BASE_URL: `http://localhost:${port}` });
  return {
    ...base,
    port,
    host: '127.0.0.1',
    mongoUri: await testDatabaseUri(),
    databaseName: `test_${process.pid}_${Date.now().toString(36)}`,
    loadDemoData: false,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
}

/** The shared server of this test run. */
export async function testServer(): Promise<TestServer> {
  if (server) return server;
  const config = await testConfig();
  const running = await startServer(config, createLogger(config.logLevel));
  server = {
    baseUrl: config.baseUrl,
    fhirUrl: `${config.baseUrl}/fhir`,
    mongoUri: config.mongoUri!,
    databaseName: config.databaseName,
    running,
  };
  return server;
}

/**
 * Starts the real server as a separate process (for tests that kill it), and waits until its
 * /healthz says 200 unless told not to wait.
 */
export async function spawnServerProcess(
  env: Record<string, string>,
  options: { waitUntilHealthy?: boolean } = {},
): Promise<{ child: ChildProcess; baseUrl: string; output: () => string }> {
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/src/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: baseUrl,
      LOG_LEVEL: 'warn',
      LOAD_DEMO_DATA: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  if (options.waitUntilHealthy === false) return { child, baseUrl, output: () => out };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server process exited early: ${out}`);
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`server process did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, baseUrl, output: () => out };
}

export async function stopTestServer(): Promise<void> {
  await server?.running.close();
  server = undefined;
  await database?.stop();
  database = undefined;
  mongoUri = undefined;
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

/** Root hooks (registered in .mocharc.json): tear the run's server and database down at the end. */
export const mochaHooks = {
  async afterAll(this: unknown) {
    await stopTestServer();
  },
};
