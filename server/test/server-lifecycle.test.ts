// npm start as a user runs it: local database bring-up, health, restart with data kept,
// clean shutdown (also of npm start itself), what it says while starting, and clear messages
// when no database can be started.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { OperationOutcome, Patient } from 'fhir/r4';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { FERRETDB_BUILD, freePort, startLocalDatabase } from '../src/db/local-database.ts';
import { spawnServerProcess, testDatabaseUri } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';
import { descendantsOf, hasProcFs, isAlive, killQuietly, until } from './support/processes.ts';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

/** Runs the server until it exits by itself; its exit code and everything it printed, in arrival order. */
async function runToExit(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/src/main.ts')], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await exitOf(child);
  return { code, out };
}

/** A folder with a fake `go` that reports the given version and fails to download anything. */
function fakeGo(dir: string, version: string): string {
  const bin = path.join(dir, 'fake-go-bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'go'),
    `#!/bin/sh\ncase "$1" in\n  version) echo "go version go${version} linux/amd64" ;;\n  *) echo "fake go: offline" >&2; exit 1 ;;\nesac\n`,
    { mode: 0o755 },
  );
  return bin;
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

  it('while its database is down, requests answer 503 (OperationOutcome, Retry-After) and /healthz 503, each within 2 s', async () => {
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

    for (const url of [`${server.baseUrl}/fhir/Patient/any`, `${server.baseUrl}/fhir/Observation?code=1234-5`]) {
      const started = Date.now();
      const res = await fhirFetch<OperationOutcome>(url);
      const ms = Date.now() - started;
      expect(res.status, res.text).to.equal(503);
      expect(res.body.issue[0].code).to.equal('transient');
      expect(res.headers.get('retry-after')).to.match(/^\d+$/);
      expect(ms, `${url} answered after`).to.be.below(2000);
    }
    const started = Date.now();
    const down = await fetch(`${server.baseUrl}/healthz`);
    expect(Date.now() - started, '/healthz answered after').to.be.below(2000);
    expect(down.status).to.equal(503);
    expect(await down.json()).to.deep.equal({ status: 'database unavailable' });
    expect(server.output()).to.not.match(/unhandled error/);
    server.child.kill('SIGTERM');
    await exitOf(server.child);
  });

  it('says "starting" on /healthz (503) while it loads the demo data, and 200 once it is ready', async () => {
    const uri = await testDatabaseUri();
    const server = await spawnServerProcess(
      { MONGODB_URI: uri, MONGODB_DB: `starting_${Date.now().toString(36)}`, LOAD_DEMO_DATA: 'true' },
      { waitUntilHealthy: false },
    );
    children.push(server.child);
    const seen: Array<{ status: number; body: string; loaded: boolean }> = [];
    const ready = await until(
      async () => {
        const loaded = /Demo data loaded/.test(server.output());
        try {
          const res = await fetch(`${server.baseUrl}/healthz`);
          seen.push({ status: res.status, body: await res.text(), loaded });
          return res.status === 200;
        } catch {
          return false; // not listening yet
        }
      },
      150_000,
      250,
    );
    expect(ready, server.output().slice(-2000)).to.equal(true);
    const starting = seen.filter((s) => s.status === 503);
    expect(starting.length, 'answers while the demo data was loading').to.be.greaterThan(0);
    for (const s of starting) expect(JSON.parse(s.body)).to.deep.equal({ status: 'starting' });
    // Every 200 came after the loader said it was done (checked before each request was sent).
    const firstOk = seen.findIndex((s) => s.status === 200);
    expect(seen.slice(firstOk + 1).every((s) => s.status === 200)).to.equal(true);
    expect(await until(() => /FHIR server ready/.test(server.output()), 5000)).to.equal(true);
    expect(server.output().indexOf('Demo data loaded')).to.be.lessThan(server.output().indexOf('FHIR server ready'));
    server.child.kill('SIGTERM');
    await exitOf(server.child);
  });

  it('names the address it really listens on', async () => {
    const uri = await testDatabaseUri();
    const server = await spawnServerProcess({ MONGODB_URI: uri, MONGODB_DB: `listen_${Date.now().toString(36)}`, HOST: '0.0.0.0' });
    children.push(server.child);
    const port = new URL(server.baseUrl).port;
    expect(await until(() => /FHIR server ready/.test(server.output()), 5000)).to.equal(true);
    expect(server.output()).to.include(`(listening on 0.0.0.0:${port})`);
    server.child.kill('SIGTERM');
    await exitOf(server.child);
  });

  it('`npm start` stops with its server and database when npm gets SIGTERM (what a process manager sends)', async function () {
    if (loadConfig().mongoUri || !hasProcFs) this.skip(); // nothing local to start, or no /proc to look at
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-npm-'));
    temps.push(dataDir);
    const port = await freePort();
    const npm = spawn('npm', ['start'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOAD_DEMO_DATA: 'false',
        LOG_LEVEL: 'warn',
        FERRETDB_CACHE_DIR: cacheDir,
        MONGODB_URI: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(npm);
    let out = '';
    npm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const up = await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 60_000, 200);
    expect(up, out).to.equal(true);
    const started = descendantsOf(npm.pid!);
    expect(started.some((p) => p.command.includes(dataDir)), 'a database runs under npm start').to.equal(true);

    npm.kill('SIGTERM');
    const ended = await Promise.race([exitOf(npm), new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    expect(ended, out).to.not.equal('still running');
    const gone = await until(() => started.every((p) => !isAlive(p.pid)), 15_000);
    const left = started.filter((p) => isAlive(p.pid));
    killQuietly(left.map((p) => p.pid));
    expect(gone, `still running: ${left.map((p) => `${p.pid} ${p.command.slice(0, 80)}`).join('; ')}`).to.equal(true);
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
    expect(out).to.match(/Cannot start: .*MONGODB_URI.*mongod.*Go toolchain \(Go 1\.24 or newer\)/s);
    expect(out).to.not.match(/at \w+ \(|node:internal/);
  });

  it('with a Go older than FerretDB needs, it says which Go version is needed before building anything', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-oldgo-'));
    temps.push(dataDir);
    const bin = fakeGo(dataDir, '1.22.5');
    const { code, out } = await runToExit({
      PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}`,
      HOME: os.tmpdir(),
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    expect(code).to.equal(1);
    expect(out).to.match(/Cannot start: FerretDB v1\.24\.2 needs Go 1\.24 or newer to build, but .*go is Go 1\.22\.5/);
    expect(out).to.not.match(/Building FerretDB|downloading/i);
  });

  it('prints the first-start build progress in the order it happens', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-build-'));
    temps.push(dataDir);
    const bin = fakeGo(dataDir, '1.24.3');
    const { code, out } = await runToExit({
      PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}`,
      HOME: os.tmpdir(),
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    expect(code).to.equal(1);
    const lines = out.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const lastAt = (re: RegExp) => lines.length - 1 - [...lines].reverse().findIndex((l) => re.test(l));
    expect(at(/Building FerretDB/), out).to.be.at.least(0);
    expect(at(/Building FerretDB/)).to.be.lessThan(at(/downloading the module/));
    expect(at(/downloading the module/)).to.be.lessThan(at(/Cannot start: could not download FerretDB with Go: fake go: offline/));
    // No message about the build after the one that ends it.
    expect(lastAt(/building FerretDB/i)).to.be.lessThan(at(/Cannot start/));
  });
});
