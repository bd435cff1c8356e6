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
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { ClientRegistry } from '../../src/auth/clients.ts';
import { SecretBox } from '../../src/auth/secret-box.ts';
import { runningDatabaseUri } from '../../src/db/data-dir-lock.ts';
import { backendTokenSource, registerBackendClient, TokenSource, useTokenSource, type BackendCredentials } from './test-auth.ts';

export interface TestServer {
  /** e.g. http://localhost:41234 */
  baseUrl: string;
  /** e.g. http://localhost:41234/fhir */
  fhirUrl: string;
  mongoUri: string;
  databaseName: string;
  running: RunningServer;
  /** The test run's backend client on this server. */
  credentials: BackendCredentials;
}

/** The run's AUTH_SECRET: the in-process server and every spawned one use it. */
export const TEST_AUTH_SECRET = randomBytes(32).toString('base64');

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

/**
 * Configuration for a server in this test run, on its own database name and port; `host` is the
 * host of its BASE_URL (localhost unless a test needs another).
 */
export async function testConfig(overrides: Partial<ServerConfig> = {}, o: { host?: string } = {}): Promise<ServerConfig> {
  const port = overrides.port ?? (await freePort());
  const base = loadConfig({ ...process.env, PORT: String(port), BASE_URL: `http://${o.host ?? 'localhost'}:${port}` });
  return {
    ...base,
    port,
    host: '127.0.0.1',
    mongoUri: await testDatabaseUri(),
    databaseName: `test_${process.pid}_${Date.now().toString(36)}`,
    loadDemoData: false,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    auth: { ...base.auth, secret: TEST_AUTH_SECRET, allowPrivateJwksUrls: true },
    ...overrides,
  };
}

/** The shared server of this test run. */
export async function testServer(): Promise<TestServer> {
  if (server) return server;
  const config = await testConfig();
  const running = await startServer(config, createLogger(config.logLevel));
  // The test run's integrator: tokens for every request fhirFetch and FhirTestClient make.
  const credentials = await registerBackendClient(running.auth.services.clients, { name: 'Test run' });
  useTokenSource(config.baseUrl, backendTokenSource(config.baseUrl, credentials));
  server = {
    baseUrl: config.baseUrl,
    fhirUrl: `${config.baseUrl}/fhir`,
    mongoUri: config.mongoUri!,
    databaseName: config.databaseName,
    running,
    credentials,
  };
  return server;
}

/**
 * Starts another in-process server (own configuration, e.g. tighter limits) with the test run's
 * tokens: a backend client registered on it, used for its base URL and its listening address.
 */
export async function startTestServerWith(config: ServerConfig): Promise<RunningServer> {
  const running = await startServer(config, createLogger(config.logLevel));
  const credentials = await registerBackendClient(running.auth.services.clients, { name: 'Test run' });
  const source = backendTokenSource(config.baseUrl, credentials);
  useTokenSource(config.baseUrl, source);
  useTokenSource(running.url, source);
  return running;
}

/**
 * Registers a backend client in the database a spawned server uses (its MONGODB_URI, or the local
 * database it runs on its DATA_DIR), as `npm run admin -- clients add --type backend` would.
 */
async function registerSpawnedClient(env: Record<string, string>): Promise<BackendCredentials> {
  const uri = env.MONGODB_URI || runningDatabaseUri(path.resolve(repoRoot, env.DATA_DIR || '.data'));
  if (!uri) throw new Error('the spawned server has no database to register a client in');
  const client = new MongoClient(uri);
  try {
    const db = client.db(env.MONGODB_DB || 'fhir');
    return await registerBackendClient(new ClientRegistry(db, new SecretBox(Buffer.from(TEST_AUTH_SECRET, 'base64'))), { name: 'Test run' });
  } finally {
    await client.close();
  }
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
      AUTH_SECRET: TEST_AUTH_SECRET,
      JWKS_ALLOW_PRIVATE_ADDRESSES: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its token source registers the client once the server is up (before a test stops its database).
  let registered: Promise<TokenSource> | undefined;
  const register = () =>
    (registered ??= registerSpawnedClient(env)
      .then((c) => backendTokenSource(baseUrl, c))
      .catch((err: unknown) => {
        registered = undefined; // try again on the next request
        throw err;
      }));
  const spawned = new TokenSource(async () => ({ access_token: await (await register()).token(), expires_in: 60 }));
  useTokenSource(baseUrl, spawned);
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
  await spawned.token();
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
