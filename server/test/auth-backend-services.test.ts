// SMART Backend Services: client_credentials with private_key_jwt (RS384 and ES384), keys inline or
// by JWKS URL, and every way a client assertion can be wrong. Driven with openid-client as a real
// integrator would, and with hand-made assertions for the broken ones.
// See: https://hl7.org/fhir/smart-app-launch/backend-services.html
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import type { Bundle, Patient } from 'fhir/r4';
import { testServer, type TestServer } from './support/test-server.ts';
import { backendConfiguration, registerBackendClient, type BackendCredentials } from './support/test-auth.ts';
import { fhirFetch } from './support/http.ts';

describe('SMART Backend Services', function () {
  this.timeout(60_000);
  let server: TestServer;
  let tokenEndpoint: string;
  let issuer: string;
  before(async () => {
    server = await testServer();
    issuer = `${server.baseUrl}/auth`;
    tokenEndpoint = `${issuer}/token`;
  });

  /** A hand-made client assertion, so each claim can be made wrong on purpose. */
  async function assertion(c: BackendCredentials, claims: Record<string, unknown> = {}, key: CryptoKey = c.privateKey, kid = c.kid): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: c.clientId, sub: c.clientId, aud: tokenEndpoint, jti: randomUUID(), exp: now + 240, ...claims })
      .setProtectedHeader({ alg: c.alg, kid, typ: 'JWT' })
      .sign(key);
  }

  async function tokenRequest(form: Record<string, string>) {
    const res = await fetch(tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  }

  const grant = (clientAssertion: string, scope = 'system/Patient.rs') => ({
    grant_type: 'client_credentials',
    scope,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  });

  for (const alg of ['ES384', 'RS384'] as const) {
    it(`issues a token for an ${alg} client with inline keys, and the token reads the FHIR API`, async () => {
      const credentials = await registerBackendClient(server.running.auth.services.clients, { alg, scope: 'system/Patient.rs system/Observation.rs' });
      const config = await backendConfiguration(server.baseUrl, credentials);
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
      expect(tokens.token_type.toLowerCase()).to.equal('bearer');
      expect(tokens.scope).to.equal('system/Patient.rs');
      expect(tokens.expires_in).to.be.within(1, 300);
      expect(tokens.refresh_token, 'no refresh token for backend services').to.equal(undefined);
      const search = await fhirFetch<Bundle>(`${server.fhirUrl}/Patient?_count=1`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(search.status).to.equal(200);
    });
  }

  it('answers the token request with no-store caching headers', async () => {
    const c = await registerBackendClient(server.running.auth.services.clients);
    const res = await tokenRequest(grant(await assertion(c), 'system/*.rs'));
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.match(/no-store/);
    expect(res.headers.get('pragma')).to.equal('no-cache');
  });

  it('fetches a JWKS URL with Accept: application/json and keeps it for its Cache-Control max-age', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS384', { extractable: true });
    const kid = `url-${randomUUID()}`;
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS384', use: 'sig' }] };
    const seen: string[] = [];
    const keyServer = http.createServer((req, res) => {
      seen.push(String(req.headers.accept));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks.json`;
      const created = await server.running.auth.services.clients.create({ name: 'JWKS URL client', type: 'backend', jwksUri: url, scope: 'system/*.rs' });
      const c: BackendCredentials = { clientId: created.clientId, privateKey: privateKey as CryptoKey, kid, alg: 'RS384' };
      for (let i = 0; i < 2; i++) expect((await tokenRequest(grant(await assertion(c)))).status, `request ${i + 1}`).to.equal(200);
      expect(seen, 'fetched once, then cached').to.deep.equal(['application/json']);
    } finally {
      keyServer.close();
    }
  });

  describe('refuses a wrong client assertion with invalid_client', () => {
    let c: BackendCredentials;
    before(async () => {
      c = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/*.rs' });
    });
    const refused = async (form: Record<string, string>) => {
      const res = await tokenRequest(form);
      expect(res.status).to.be.oneOf([400, 401]);
      expect(res.body.error).to.equal('invalid_client');
      expect(res.body.access_token).to.equal(undefined);
    };

    it('a replayed jti', async () => {
      const once = await assertion(c);
      expect((await tokenRequest(grant(once))).status).to.equal(200);
      await refused(grant(once));
    });
    it('exp more than 5 minutes ahead', async () => {
      await refused(grant(await assertion(c, { exp: Math.floor(Date.now() / 1000) + 10 * 60 })));
    });
    it('an expired assertion', async () => {
      await refused(grant(await assertion(c, { exp: Math.floor(Date.now() / 1000) - 120 })));
    });
    it('the wrong aud', async () => {
      await refused(grant(await assertion(c, { aud: 'https://elsewhere.example/token' })));
    });
    it('iss that is not sub', async () => {
      const other = await registerBackendClient(server.running.auth.services.clients);
      await refused(grant(await assertion(c, { iss: other.clientId })));
    });
    it('an unknown kid', async () => {
      await refused(grant(await assertion(c, {}, c.privateKey, 'no-such-key')));
    });
    it('a signature by another key', async () => {
      const { privateKey } = await generateKeyPair('ES384');
      await refused(grant(await assertion(c, {}, privateKey as CryptoKey)));
    });
    it('an unknown client', async () => {
      await refused(grant(await assertion({ ...c, clientId: randomUUID() })));
    });
  });

  it('refuses a wrong grant_type and a wrong assertion type with 400', async () => {
    const c = await registerBackendClient(server.running.auth.services.clients);
    const badGrant = await tokenRequest({ ...grant(await assertion(c)), grant_type: 'password' });
    expect(badGrant.status).to.equal(400);
    expect(badGrant.body.error).to.be.oneOf(['unsupported_grant_type', 'invalid_request']);
    const badType = await tokenRequest({ ...grant(await assertion(c)), client_assertion_type: 'urn:example:wrong' });
    expect(badType.status).to.be.oneOf([400, 401]);
  });

  it('grants only the system scopes the client is registered for', async () => {
    const c = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/Observation.rs' });
    const narrow = await tokenRequest(grant(await assertion(c), 'system/Observation.rs system/Patient.rs'));
    expect(narrow.status).to.equal(200);
    expect(narrow.body.scope).to.equal('system/Observation.rs');
    const none = await tokenRequest(grant(await assertion(c), 'system/Patient.rs'));
    expect(none.status).to.equal(400);
    expect(none.body.error).to.equal('invalid_scope');
  });

  it('a revoked token is refused on the very next request; introspection says what a token is', async () => {
    const c = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/*.rs' });
    const config = await backendConfiguration(server.baseUrl, c);
    const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
    const created = await fhirFetch<Patient>(`${server.fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'other' } });
    const read = () => fhirFetch(`${server.fhirUrl}/Patient/${created.body.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await read()).status).to.equal(200);
    const active = await oidc.tokenIntrospection(config, token);
    expect(active.active).to.equal(true);
    expect(active.client_id).to.equal(c.clientId);
    expect(active.scope).to.equal('system/Patient.rs');
    expect(active.exp).to.be.a('number');
    await oidc.tokenRevocation(config, token);
    const after = await read();
    expect(after.status).to.equal(401);
    expect(after.headers.get('www-authenticate')).to.match(/^Bearer .*error="invalid_token"/);
    expect((await oidc.tokenIntrospection(config, token)).active).to.equal(false);
  });

  it('a token revoked while many requests carry it is refused for every request sent after the revocation', async () => {
    const c = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/*.rs' });
    const config = await backendConfiguration(server.baseUrl, c);
    const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
    const created = await fhirFetch<Patient>(`${server.fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'other' } });
    // Eight clients read without pause (their token lookups are coalesced); the revocation lands
    // in the middle. Each read notes when it was sent.
    let revokedAt = Infinity;
    let stop = false;
    const answers: Array<{ sentAt: number; status: number }> = [];
    const client = async () => {
      while (!stop) {
        const sentAt = performance.now();
        const res = await fetch(`${server.fhirUrl}/Patient/${created.body.id}`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        answers.push({ sentAt, status: res.status });
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((r) => setTimeout(r, 300));
    await oidc.tokenRevocation(config, token);
    revokedAt = performance.now();
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    const before = answers.filter((a) => a.sentAt < revokedAt);
    const after = answers.filter((a) => a.sentAt > revokedAt);
    expect(before.filter((a) => a.status === 200), 'reads before the revocation').to.have.length.greaterThan(5);
    expect(after, 'reads after the revocation').to.have.length.greaterThan(5);
    expect(after.filter((a) => a.status !== 401), 'reads sent after the revocation that were not refused').to.deep.equal([]);
  });
});
