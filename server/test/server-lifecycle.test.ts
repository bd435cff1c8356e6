// npm start as a user runs it: local database bring-up, health, restart with data kept,
// clean shutdown, and a clear message when no database can be started.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Patient } from 'fhir/r4';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { FERRETDB_BUILD, startLocalDatabase } from '../src/db/local-database.ts';
import { spawnServerProcess, testDatabaseUri } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function portOpen(uri: string): Promise<boolean> {
  const { port } = new URL(uri);
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('server lifecycle', function () {
  this.timeout(180_000);
  const temps: string[] = [];
  const children: ChildProcess[] = [];
  let cacheDir: string;

  before(async () => {
    await testDatabaseUri(); // makes sure the FerretDB binary exists (built or copied)
    // A cache holding the built binary, so servers with a fresh DATA_DIR do not rebuild it.
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-cache-'));
    temps.push(cacheDir);
    const built = path.join(loadConfig().dataDir, 'bin', `ferretdb-${FERRETDB_BUILD}`);
    if (fs.existsSync(built)) fs.copyFileSync(built, path.join(cacheDir, `ferretdb-${FERRETDB_BUILD}`));
  });
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
  });

  it('starts its own database under DATA_DIR, keeps data across a restart, and shuts down cleanly on SIGTERM', async function () {
    if (loadConfig().mongoUri) this.skip(); // the runner supplies a database; nothing local to start
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-data-'));
    temps.push(dataDir);
    const env = { DATA_DIR: dataDir, FERRETDB_CACHE_DIR: cacheDir, MONGODB_URI: '' };
    const first = await spawnServerProcess(env);
    children.push(first.child);
    const health = await fetch(`${first.baseUrl}/healthz`);
    expect(health.status).to.equal(200);
    const created = await fhirFetch<Patient>(`${first.baseUrl}/fhir/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: 'Persistent' }] },
    });
    expect(created.status).to.equal(201);
    expect(fs.existsSync(path.join(dataDir, 'bin', `ferretdb-${FERRETDB_BUILD}`))).to.equal(true);
    expect(fs.readdirSync(path.join(dataDir, 'ferretdb')).length).to.be.greaterThan(0);

    first.child.kill('SIGTERM');
    expect(await exitOf(first.child)).to.equal(0);
    expect(first.output()).to.not.match(/Error|at \w+ \(/);

    const second = await spawnServerProcess(env);
    children.push(second.child);
    const read = await fhirFetch<Patient>(`${second.baseUrl}/fhir/Patient/${created.body.id}`);
    expect(read.status).to.equal(200);
    expect(read.body.name?.[0].family).to.equal('Persistent');
    second.child.kill('SIGINT');
    expect(await exitOf(second.child)).to.equal(0);
  });

  it('answers /healthz with 503 while the database is down', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-db-'));
    temps.push(dir);
    const db = await startLocalDatabase(dir, createLogger('silent'), {
      binaryDir: loadConfig().dataDir,
      ferretDbCacheDir: cacheDir,
    });
    const server = await spawnServerProcess({ MONGODB_URI: db.uri, MONGODB_DB: 'health' });
    children.push(server.child);
    expect((await fetch(`${server.baseUrl}/healthz`)).status).to.equal(200);
    await db.stop();
    expect(await portOpen(db.uri)).to.equal(false);
    const down = await fetch(`${server.baseUrl}/healthz`);
    expect(down.status).to.equal(503);
    expect(await down.json()).to.deep.equal({ status: 'database unavailable' });
    server.child.kill('SIGTERM');
    await exitOf(server.child);
  });

  it('without MONGODB_URI, mongod or Go, it ends with one clear message instead of a stack trace', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-nogo-'));
    temps.push(dataDir);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/src/main.ts')], {
      cwd: repoRoot,
      env: { PATH: path.dirname(process.execPath), HOME: os.tmpdir(), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await exitOf(child);
    expect(code).to.equal(1);
    expect(out).to.match(/Cannot start: .*MONGODB_URI.*mongod.*Go toolchain/s);
    expect(out).to.not.match(/at \w+ \(|node:internal/);
  });
});
