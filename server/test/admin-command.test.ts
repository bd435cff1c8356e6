// npm run admin, as an operator runs it against the database of a running server: registering a
// backend-services client from a JWKS file, listing and removing it (its tokens go with it),
// activation codes, and rotating the signing keys (the old key stays published).
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import { spawnServerProcess, TEST_AUTH_SECRET, testDatabaseUri } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function admin(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/src/admin/admin-command.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

describe('npm run admin', function () {
  this.timeout(180_000);
  const children: ChildProcess[] = [];
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-cli-'));
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(temp, { recursive: true, force: true });
  });

  it('registers a backend client from a JWKS file, lists it, and removing it ends its tokens', async () => {
    const env = { MONGODB_URI: await testDatabaseUri(), MONGODB_DB: `admin_${Date.now().toString(36)}`, AUTH_SECRET: TEST_AUTH_SECRET };
    const server = await spawnServerProcess(env);
    children.push(server.child);
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = 'cli-key';
    const jwksFile = path.join(temp, 'jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' }] }));

    const added = await admin(['clients', 'add', '--name', 'CLI integrator', '--type', 'backend', '--jwks-file', jwksFile, '--scope', 'system/Patient.rs', '--json'], env);
    expect(added.code, added.err).to.equal(0);
    const client = JSON.parse(added.out) as { clientId: string; type: string; scope: string };
    expect(client.type).to.equal('backend');
    expect(client.scope).to.equal('system/Patient.rs');

    // A private key in the JWKS file is refused: only public keys are registered.
    const privateFile = path.join(temp, 'private.json');
    fs.writeFileSync(privateFile, JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid }] }));
    const refused = await admin(['clients', 'add', '--name', 'Oops', '--type', 'backend', '--jwks-file', privateFile], env);
    expect(refused.code).to.equal(2);
    expect(refused.err).to.match(/private key/);

    const config = await oidc.discovery(new URL(`${server.baseUrl}/auth`), client.clientId, { token_endpoint_auth_signing_alg: 'ES384' }, oidc.PrivateKeyJwt({ key: privateKey as CryptoKey, kid }), {
      execute: [oidc.allowInsecureRequests],
    });
    const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
    expect((await fhirFetch(`${server.baseUrl}/fhir/Patient?_count=1`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);

    const listed = await admin(['clients', 'list', '--json'], env);
    expect((JSON.parse(listed.out) as Array<{ clientId: string }>).map((c) => c.clientId)).to.include(client.clientId);

    const removed = await admin(['clients', 'remove', client.clientId], env);
    expect(removed.code, removed.err).to.equal(0);
    expect((await fhirFetch(`${server.baseUrl}/fhir/Patient?_count=1`, { headers: { authorization: `Bearer ${token}` } })).status, 'its token ended with it').to.equal(401);
    let again: unknown;
    try {
      await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
    } catch (err) {
      again = err;
    }
    expect((again as { error?: string })?.error).to.equal('invalid_client');

    // A token of the server's own tools client, for trying the API with curl.
    const minted = await admin(['token', '--raw'], { ...env, BASE_URL: server.baseUrl });
    expect(minted.code, minted.err).to.equal(0);
    expect((await fhirFetch(`${server.baseUrl}/fhir/Patient?_count=1`, { headers: { authorization: `Bearer ${minted.out.trim()}` } })).status).to.equal(200);
    server.child.kill('SIGTERM');
  });

  it('rotates the signing keys: a server started afterwards signs with the new key and still publishes the old one', async () => {
    const env = { MONGODB_URI: await testDatabaseUri(), MONGODB_DB: `keys_${Date.now().toString(36)}`, AUTH_SECRET: TEST_AUTH_SECRET };
    const first = await spawnServerProcess(env);
    children.push(first.child);
    const kids = async (base: string) => ((await (await fetch(`${base}/auth/jwks`)).json()) as { keys: Array<{ kid: string; alg: string }> }).keys;
    const before = await kids(first.baseUrl);
    const rotated = await admin(['keys', 'rotate', '--json'], env);
    expect(rotated.code, rotated.err).to.equal(0);
    const fresh = (JSON.parse(rotated.out) as { signingKeys: string[] }).signingKeys;
    first.child.kill('SIGTERM');
    const second = await spawnServerProcess(env);
    children.push(second.child);
    const after = await kids(second.baseUrl);
    expect(after.map((k) => k.kid)).to.include.members([...fresh, ...before.map((k) => k.kid)]);
    // The first RS256 key published is the one that signs: the new one.
    expect(after.find((k) => k.alg === 'RS256')?.kid).to.equal(fresh.find((id) => after.some((k) => k.kid === id && k.alg === 'RS256')));
    second.child.kill('SIGTERM');
  });
});
