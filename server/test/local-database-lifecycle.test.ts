// The local database as a user lives with it: it never outlives the server, never runs twice on
// one DATA_DIR, and when it dies the server answers 503 quickly, restarts it, and serves again.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import { loadConfig } from '../src/config.ts';
import { FERRETDB_BUILD } from '../src/db/local-database.ts';
import { spawnServerProcess, testDatabaseUri } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';
import { descendantsOf, hasProcFs, isAlive, killQuietly, processesMentioning, until } from './support/processes.ts';

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

/** Times one request; the answer and how long it took. */
async function timed<T>(request: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await request();
  return { result, ms: Date.now() - started };
}

describe('the local database', function () {
  this.timeout(180_000);
  const temps: string[] = [];
  const children: ChildProcess[] = [];
  let cacheDir: string;

  before(async function () {
    // Only without MONGODB_URI is there a local database, and only /proc shows what is left running.
    if (loadConfig().mongoUri || !hasProcFs) this.skip();
    await testDatabaseUri(); // makes sure the FerretDB binary exists (built or copied)
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-cache-'));
    temps.push(cacheDir);
    const built = path.join(loadConfig().dataDir, 'bin', `ferretdb-${FERRETDB_BUILD}`);
    if (fs.existsSync(built)) fs.copyFileSync(built, path.join(cacheDir, `ferretdb-${FERRETDB_BUILD}`));
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const t of temps) {
      killQuietly(processesMentioning(t).map((p) => p.pid));
      fs.rmSync(t, { recursive: true, force: true });
    }
  });

  function freshDataDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-data-'));
    temps.push(dir);
    return dir;
  }

  async function startServer(dataDir: string, env: Record<string, string> = {}) {
    const server = await spawnServerProcess({ DATA_DIR: dataDir, FERRETDB_CACHE_DIR: cacheDir, MONGODB_URI: '', ...env });
    children.push(server.child);
    return server;
  }

  /** The database processes running on a data directory (FerretDB or mongod). */
  const databasesOn = (dataDir: string) => processesMentioning(dataDir);

  async function createPatient(baseUrl: string, family: string): Promise<string> {
    const created = await fhirFetch<Patient>(`${baseUrl}/fhir/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family }] } });
    expect(created.status, created.text).to.equal(201);
    return created.body.id as string;
  }

  it('stops when the server process is killed with SIGKILL, and the next start on the same DATA_DIR serves its data', async () => {
    const dataDir = freshDataDir();
    const first = await startServer(dataDir);
    const id = await createPatient(first.baseUrl, 'Survivor');
    const database = descendantsOf(first.child.pid!).filter((p) => p.command.includes(dataDir));
    expect(database, 'the server runs one database process').to.have.length(1);

    first.child.kill('SIGKILL');
    await exitOf(first.child);
    expect(await until(() => !isAlive(database[0].pid), 10_000), `database ${database[0].pid} still running after its server was killed`).to.equal(true);

    const second = await startServer(dataDir);
    const read = await fhirFetch<Patient>(`${second.baseUrl}/fhir/Patient/${id}`);
    expect(read.status).to.equal(200);
    expect(read.body.name?.[0].family).to.equal('Survivor');
    expect(databasesOn(dataDir)).to.have.length(1);
    second.child.kill('SIGTERM');
    expect(await exitOf(second.child)).to.equal(0);
    expect(await until(() => databasesOn(dataDir).length === 0, 10_000)).to.equal(true);
  });

  it('runs only once on a DATA_DIR: a second server on it stops with a message naming the process that uses it', async () => {
    const dataDir = freshDataDir();
    const first = await startServer(dataDir);
    let message = '';
    try {
      const second = await startServer(dataDir);
      second.child.kill('SIGTERM');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(new RegExp(`Cannot start: .*${dataDir}.* in use by process ${first.child.pid}\\b`, 's'));
    expect(message).to.not.match(/at \w+ \(|node:internal/);
    expect(databasesOn(dataDir), 'database processes on the data directory').to.have.length(1);
    expect((await fetch(`${first.baseUrl}/healthz`)).status).to.equal(200);
    first.child.kill('SIGTERM');
    await exitOf(first.child);
  });

  it('is stopped by the next start when a killed server could not tie it to itself (no setpriv)', async () => {
    const dataDir = freshDataDir();
    // An empty PATH: no setpriv (as on systems without util-linux); the binary comes from the cache.
    const emptyPath = freshDataDir();
    const first = await startServer(dataDir, { PATH: emptyPath });
    const id = await createPatient(first.baseUrl, 'Orphaned');
    const [orphan] = descendantsOf(first.child.pid!).filter((p) => p.command.includes(dataDir));
    expect(orphan).to.not.equal(undefined);
    first.child.kill('SIGKILL');
    await exitOf(first.child);
    await new Promise((r) => setTimeout(r, 500));
    expect(isAlive(orphan.pid), 'without setpriv the database outlives a SIGKILLed server').to.equal(true);

    const second = await startServer(dataDir);
    expect(isAlive(orphan.pid), 'the orphaned database was stopped').to.equal(false);
    expect(databasesOn(dataDir)).to.have.length(1);
    expect((await fhirFetch<Patient>(`${second.baseUrl}/fhir/Patient/${id}`)).status).to.equal(200);
    second.child.kill('SIGTERM');
    await exitOf(second.child);
  });

  it('when it dies, requests and /healthz answer 503 within 2 s; the server restarts it and serves again by itself', async () => {
    const dataDir = freshDataDir();
    const server = await startServer(dataDir);
    const fhir = `${server.baseUrl}/fhir`;
    const id = await createPatient(server.baseUrl, 'Outage');
    const other = await createPatient(server.baseUrl, 'Outage');
    const [database] = descendantsOf(server.child.pid!).filter((p) => p.command.includes(dataDir));
    const listen = /--listen-addr=(\S+)/.exec(database.command)?.[1];

    // The binary is moved away so that the database cannot come back until the test allows it.
    const binary = path.join(dataDir, 'bin', `ferretdb-${FERRETDB_BUILD}`);
    fs.renameSync(binary, `${binary}.away`);
    process.kill(database.pid, 'SIGKILL');
    expect(await until(() => !isAlive(database.pid), 5000)).to.equal(true);

    const reads = Array.from({ length: 10 }, () => ({ request: { method: 'GET', url: `Patient/${id}` } }));
    const [health, batch, ...answers] = await Promise.all([
      timed(() => fetch(`${server.baseUrl}/healthz`)),
      timed(() => fhirFetch<Bundle>(fhir, { method: 'POST', body: { resourceType: 'Bundle', type: 'batch', entry: reads } })),
      timed(() => fhirFetch<OperationOutcome>(`${fhir}/Patient/${id}`)),
      timed(() => fhirFetch<OperationOutcome>(`${fhir}/Patient?family=Outage`)),
      timed(() => fhirFetch<OperationOutcome>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', active: true } })),
      timed(() => fhirFetch<OperationOutcome>(`${fhir}/Patient/${id}`, { method: 'PUT', body: { resourceType: 'Patient', id, active: false } })),
      timed(() => fhirFetch<OperationOutcome>(`${fhir}/Patient/${id}/_history`)),
      timed(() => fhirFetch<OperationOutcome>(`${fhir}/Patient/${other}`, { method: 'DELETE' })),
      timed(() =>
        fhirFetch<OperationOutcome>(fhir, {
          method: 'POST',
          body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] },
        }),
      ),
    ]);
    for (const { result, ms } of answers) {
      expect(result.status, `${result.text}\n${server.output().slice(-3000)}`).to.equal(503);
      expect(result.body.resourceType).to.equal('OperationOutcome');
      expect(result.body.issue[0].code).to.equal('transient');
      expect(result.headers.get('retry-after')).to.match(/^\d+$/);
      expect(ms, 'time to answer 503').to.be.below(2000);
    }
    expect(health.result.status).to.equal(503);
    expect(health.ms, 'time for /healthz to say 503').to.be.below(2000);
    // A batch cannot even be authenticated (the token is checked in the database): one 503.
    expect(batch.result.status).to.equal(503);
    expect(batch.ms, 'time for a batch of 10 reads to answer').to.be.below(2000);

    fs.renameSync(`${binary}.away`, binary);
    const back = await until(async () => (await fhirFetch(`${fhir}/Patient/${id}`)).status === 200, 20_000, 250);
    expect(back, `the server did not serve again: ${server.output().slice(-1000)}`).to.equal(true);
    expect((await fetch(`${server.baseUrl}/healthz`)).status).to.equal(200);
    const [restarted] = descendantsOf(server.child.pid!).filter((p) => p.command.includes(dataDir));
    expect(restarted.pid).to.not.equal(database.pid);
    expect(restarted.command, 'restarted on the same address').to.include(`--listen-addr=${listen}`);
    expect(server.child.exitCode, 'the same server process').to.equal(null);
    server.child.kill('SIGTERM');
    expect(await exitOf(server.child)).to.equal(0);
  });

  it('when it cannot be brought back, the server gives up after a few attempts with a clear message', async () => {
    const dataDir = freshDataDir();
    const server = await startServer(dataDir);
    const [database] = descendantsOf(server.child.pid!).filter((p) => p.command.includes(dataDir));
    const binary = path.join(dataDir, 'bin', `ferretdb-${FERRETDB_BUILD}`);
    fs.renameSync(binary, `${binary}.away`);
    process.kill(database.pid, 'SIGKILL');
    // About half a minute of attempts (README: 0.25 s to 15 s apart), then it gives up.
    const ended = await Promise.race([exitOf(server.child), new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
    expect(ended, server.output().slice(-1000)).to.equal(1);
    expect(server.output()).to.match(/local database .*could not be restarted.*giving up/i);
    expect(server.output()).to.not.match(/at \w+ \(|node:internal/);
    expect(databasesOn(dataDir)).to.have.length(0);
  });
});
