// `npm run seed` as a user runs it beside `npm start`: without --url it loads into the server
// that PORT / BASE_URL describe, as the server itself reads them.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { exportJWK } from 'jose';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function runSeed(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'seed-data/cli.ts'), ...args], {
    cwd: repoRoot,
    // Without the runner's own PORT/BASE_URL, so that only what the test gives counts.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'PORT' && k !== 'BASE_URL')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

async function patientCount(fhirUrl: string): Promise<number> {
  const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient?_summary=count`);
  return res.body.total ?? -1;
}

describe('npm run seed', function () {
  this.timeout(120_000);

  for (const variable of ['PORT', 'BASE_URL'] as const) {
    it(`loads into the server that ${variable} names when --url is not given`, async () => {
      const { baseUrl, fhirUrl, credentials } = await testServer();
      const value = variable === 'PORT' ? new URL(baseUrl).port : baseUrl;
      const before = await patientCount(fhirUrl);
      // It authenticates as a backend-services client, with the private key from a file.
      const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seed-key-')), 'key.json');
      fs.writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(credentials.privateKey)), kid: credentials.kid, alg: credentials.alg }));
      const args = ['--patients', '1', '--seed', `seed-cli-${variable}-${Date.now()}`, '--client-id', credentials.clientId, '--key', keyFile];
      const { code, out } = await runSeed(args, { [variable]: value });
      fs.rmSync(path.dirname(keyFile), { recursive: true, force: true });
      expect(code, out).to.equal(0);
      expect(out).to.include(`into ${fhirUrl} `);
      expect(await patientCount(fhirUrl)).to.equal(before + 1);
    });
  }
});
