// `npm run export`, the integrators' Bulk Data client, run as a user runs it against this server:
// a backend client with its private key in a JWK file, an export to a folder, counts checked and
// summed up, and a download interrupted half-way that the next run resumes with a byte range.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { exportJWK } from 'jose';
import type { RunningServer } from '../src/server.ts';
import { startTestServerWith, testConfig } from './support/test-server.ts';
import { registerBackendClient } from './support/test-auth.ts';
import { fhirFetch } from './support/http.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

describe('npm run export (the Bulk Data client)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let fhir: string;
  let dir: string;
  let keyFile: string;
  let clientId: string;

  before(async () => {
    const base = await testConfig();
    server = await startTestServerWith({ ...base, bulkExport: { ...base.bulkExport, pageSize: 5, retryAfterSeconds: 1, minPollMs: 200 } });
    fhir = `${base.baseUrl}/fhir`;
    for (let i = 0; i < 3; i++) {
      const p = await fhirFetch<{ id: string }>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: `Client${i}` }] } });
      for (let j = 0; j < 4; j++) {
        await fhirFetch(`${fhir}/Observation`, { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: `r${j}` }, subject: { reference: `Patient/${p.body.id}` } } });
      }
    }
    const credentials = await registerBackendClient(server.auth.services.clients, { scope: 'system/*.rs', name: 'Export client test' });
    clientId = credentials.clientId;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-client-'));
    keyFile = path.join(dir, 'key.json');
    fs.writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(credentials.privateKey)), kid: credentials.kid, alg: credentials.alg }));
  });
  after(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const exportCli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bulk-client/cli.ts'), '--base', fhir, '--client-id', clientId, '--key', keyFile, ...args], { cwd: repoRoot });

  it('exports to a folder, checks the counts against the manifest and prints a summary', async () => {
    const out = path.join(dir, 'all');
    const { stdout, stderr } = await exportCli('--type', 'Patient,Observation', '--out', out);
    expect(stdout).to.match(/^Observation\s+12$/m);
    expect(stdout).to.match(/^Patient\s+3$/m);
    expect(stdout).to.match(/15 resources in 2 files/);
    expect(stderr).to.match(/status URL \(for --resume\): http:\/\/localhost:\d+\/fhir\/bulk-status\//);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { output: Array<{ type: string }> };
    expect(manifest.output.map((o) => o.type).sort()).to.deep.equal(['Observation', 'Patient']);
    const lines = fs.readFileSync(path.join(out, 'Observation.1.ndjson'), 'utf8').trim().split('\n');
    expect(lines).to.have.length(12);
    expect(JSON.parse(lines[0]).resourceType).to.equal('Observation');
  });

  it('resumes an interrupted download where it stopped', async () => {
    const out = path.join(dir, 'resumed');
    const first = await exportCli('--type', 'Observation', '--out', out);
    const statusUrl = /status URL \(for --resume\): (\S+)/.exec(first.stderr)![1];
    const file = path.join(out, 'Observation.1.ndjson');
    const whole = fs.readFileSync(file);
    // As a run cut short leaves it: the first 300 bytes in the .part file, the file's ETag beside it.
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { output: Array<{ url: string }> };
    const token = (await import('./support/test-auth.ts')).authorizationFor;
    const head = await fetch(manifest.output[0].url, { method: 'HEAD', headers: await token(fhir) });
    expect(head.status).to.equal(404); // another client's token: not theirs
    fs.writeFileSync(`${file}.part`, whole.subarray(0, 300));
    fs.rmSync(file);
    const etag = `"${statusUrl.split('/').pop()}-0"`;
    fs.writeFileSync(`${file}.etag`, etag);
    const again = await exportCli('--resume', statusUrl, '--out', out);
    expect(again.stderr).to.match(/Observation\.1\.ndjson: 12 lines, \d+ bytes \(resumed at 300\)/);
    expect(fs.readFileSync(file).equals(whole)).to.equal(true);
    expect(fs.existsSync(`${file}.part`)).to.equal(false);
  });

  it('says what is wrong when the server refuses the kick-off', async () => {
    const failed = await exportCli('--type', 'NoSuchType', '--out', path.join(dir, 'refused')).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).to.equal(1);
    expect(failed?.stderr).to.match(/kick-off answered 400: .*NoSuchType/);
  });
});
