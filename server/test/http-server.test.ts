// The HTTP layer around the FHIR endpoint: the server Express runs in, and the request log as an
// operator reads it from a running process (written in blocks, never with PHI in it).
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import express from 'express';
import { createHttpServer } from '../src/app.ts';
import helmet from 'helmet';
import { spawnServerProcess, testDatabaseUri, testServer } from './support/test-server.ts';
import { authorizationFor } from './support/test-auth.ts';

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe('HTTP server for the Express app', () => {
  it('hands Express requests and responses that already have the app prototypes, and Express works as usual', async () => {
    const app = express();
    app.get('/echo/:word', (req, res) => {
      res.status(201).json({ word: req.params.word, q: req.query.q, path: req.path, ip: typeof req.ip, accepts: req.accepts('json') });
    });
    app.use((_req, res) => res.status(404).send('nothing here'));
    const server = createHttpServer(app);
    const seen: Array<[boolean, boolean]> = [];
    // Runs before Express's own listener: what Node built, before Express touched it.
    server.prependListener('request', (req, res) => {
      seen.push([Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response]);
    });
    const base = await listen(server);
    try {
      const res = await fetch(`${base}/echo/hello?q=1`, { headers: { accept: 'application/json' } });
      expect(res.status).to.equal(201);
      expect(await res.json()).to.deep.equal({ word: 'hello', q: '1', path: '/echo/hello', ip: 'string', accepts: 'json' });
      const missing = await fetch(`${base}/else`);
      expect(missing.status).to.equal(404);
      expect(await missing.text()).to.equal('nothing here');
      // A request body still streams in as usual.
      const posted = await fetch(`${base}/echo/x`, { method: 'POST', body: 'abc' });
      expect(posted.status).to.equal(404);
      expect(seen).to.deep.equal([
        [true, true],
        [true, true],
        [true, true],
      ]);
      expect(http.IncomingMessage.prototype.isPrototypeOf(app.request)).to.equal(true);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

/** Status and raw header lines (names lower-cased) of one request, duplicates kept. */
async function rawRequest(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const headers = { ...(url.includes('/fhir/') ? await authorizationFor(url) : {}), ...init.headers };
  return new Promise<{ status: number; headers: Array<[string, string]> }>((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers }, (res) => {
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('response headers', () => {
  it('every kind of response, FHIR or not, carries helmet\'s headers once and a request id', async () => {
    const { baseUrl, fhirUrl } = await testServer();
    // What helmet() itself sets, recorded from a bare response.
    const expected = new Map<string, string>();
    helmet()({ headers: {}, method: 'GET', url: '/' } as never, { setHeader: (n: string, v: unknown) => expected.set(n.toLowerCase(), String(v)), removeHeader: () => undefined, getHeader: () => undefined } as never, () => undefined);
    expect(expected.size).to.be.greaterThan(8);

    const json = { 'content-type': 'application/fhir+json' };
    const created = await rawRequest(`${fhirUrl}/Patient`, { method: 'POST', headers: json, body: JSON.stringify({ resourceType: 'Patient', active: true }) });
    const location = created.headers.find(([n]) => n === 'location')?.[1] ?? '';
    const id = location.split('/Patient/')[1].split('/')[0];
    const etag = created.headers.find(([n]) => n === 'etag')?.[1] ?? '';
    const cases: Array<[string, Promise<{ status: number; headers: Array<[string, string]> }>, number]> = [
      ['create', Promise.resolve(created), 201],
      ['read', rawRequest(`${fhirUrl}/Patient/${id}`), 200],
      ['HEAD', rawRequest(`${fhirUrl}/Patient/${id}`, { method: 'HEAD' }), 200],
      ['not modified', rawRequest(`${fhirUrl}/Patient/${id}`, { headers: { 'if-none-match': etag } }), 304],
      ['search', rawRequest(`${fhirUrl}/Patient?_id=${id}`), 200],
      ['FHIR error', rawRequest(`${fhirUrl}/Patient/nope`), 404],
      ['body too large', rawRequest(`${fhirUrl}/Patient`, { method: 'POST', headers: json, body: 'x'.repeat(17 * 1024 * 1024) }), 413],
      ['health', rawRequest(`${baseUrl}/healthz`), 200],
      // Any other path is the patient portal's (or its 503 when not built); a missing file is a 404.
      ['not FHIR', rawRequest(`${baseUrl}/nothing-here.js`), 404],
    ];
    for (const [name, pending, status] of cases) {
      const res = await pending;
      expect(res.status, name).to.equal(status);
      const names = res.headers.map(([n]) => n);
      expect(names.filter((n, i) => names.indexOf(n) !== i), `${name}: repeated headers`).to.deep.equal([]);
      for (const [n, v] of expected) expect(res.headers.find(([h]) => h === n)?.[1], `${name}: ${n}`).to.equal(v);
      expect(res.headers.find(([h]) => h === 'x-request-id')?.[1], name).to.match(/^[0-9a-f-]{36}$/);
    }
    const deleted = await rawRequest(`${fhirUrl}/Patient/${id}`, { method: 'DELETE', headers: { 'x-request-id': 'del-1' } });
    expect(deleted.status).to.be.oneOf([200, 204]);
    expect(deleted.headers.find(([h]) => h === 'x-request-id')?.[1]).to.equal('del-1');
    expect(deleted.headers.find(([h]) => h === 'x-content-type-options')?.[1]).to.equal('nosniff');
  });
});

describe('request log of a running server', function () {
  this.timeout(120_000);
  let child: ChildProcess | undefined;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('writes one line per request without query values or contents, within a second, and the last ones on shutdown', async () => {
    const uri = await testDatabaseUri();
    const server = await spawnServerProcess({ MONGODB_URI: uri, MONGODB_DB: `log_${process.pid}`, LOG_LEVEL: 'info' });
    child = server.child;
    const lines = () =>
      server
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.msg === 'request');
    const fhir = `${server.baseUrl}/fhir`;
    const created = await fetch(`${fhir}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', 'x-request-id': 'log-test-1', ...(await authorizationFor(fhir)) },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Quixotelogname' }], birthDate: '1961-02-03' }),
    });
    expect(created.status).to.equal(201);
    const id = ((await created.json()) as { id: string }).id;
    const search = await fetch(`${fhir}/Patient?family=Quixotelogname&birthdate=1961-02-03`, { headers: { 'x-request-id': 'log-test-2', ...(await authorizationFor(fhir)) } });
    expect(search.status).to.equal(200);

    // Lines are written in blocks, but at the latest about half a second later on an idle server.
    expect(await until(() => lines().some((l) => l.requestId === 'log-test-2'), 3000)).to.equal(true);
    const logged = lines().filter((l) => String(l.requestId).startsWith('log-test-'));
    expect(logged.map((l) => [l.requestId, l.method, l.path, l.status])).to.deep.equal([
      ['log-test-1', 'POST', '/fhir/Patient', 201],
      ['log-test-2', 'GET', '/fhir/Patient', 200],
    ]);
    for (const l of logged) expect(l.ms).to.be.a('number');
    const everything = server.output();
    expect(everything).to.not.include('Quixotelogname');
    expect(everything).to.not.include('1961-02-03');
    expect(everything).to.not.include('family=');

    // A request answered just before SIGTERM is in the log when the process has exited.
    const read = await fetch(`${fhir}/Patient/${id}`, { headers: { 'x-request-id': 'log-test-3', ...(await authorizationFor(fhir)) } });
    expect(read.status).to.equal(200);
    child.kill('SIGTERM');
    expect(await exitOf(child)).to.equal(0);
    const last = lines().filter((l) => l.requestId === 'log-test-3');
    expect(last.map((l) => [l.method, l.path, l.status])).to.deep.equal([['GET', `/fhir/Patient/${id}`, 200]]);
    expect(lines().at(-1)?.requestId).to.equal('log-test-3');
  });
});
