// What an app sees before it has a token: SMART configuration, OpenID configuration, the
// CapabilityStatement's security section, CORS, and 401s that say what is wrong.
// See: https://hl7.org/fhir/smart-app-launch/conformance.html
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import type { CapabilityStatement, OperationOutcome } from 'fhir/r4';
import { createHash } from 'node:crypto';
import { testServer, type TestServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';
import { authorizationFor } from './support/test-auth.ts';

describe('authorization discovery and the FHIR API gate', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await testServer();
  });

  it('serves the SMART configuration without a token, with every required field and CORS', async () => {
    const res = await fetch(`${server.fhirUrl}/.well-known/smart-configuration`, { headers: { origin: 'https://app.example' } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('access-control-allow-origin')).to.equal('*');
    const config = (await res.json()) as Record<string, unknown>;
    for (const field of [
      'issuer',
      'jwks_uri',
      'authorization_endpoint',
      'token_endpoint',
      'grant_types_supported',
      'token_endpoint_auth_methods_supported',
      'token_endpoint_auth_signing_alg_values_supported',
      'scopes_supported',
      'response_types_supported',
      'capabilities',
      'code_challenge_methods_supported',
      'introspection_endpoint',
      'revocation_endpoint',
      'management_endpoint',
    ]) {
      expect(config, field).to.have.property(field);
    }
    expect(config.code_challenge_methods_supported).to.deep.equal(['S256']);
    expect(config.capabilities).to.include.members(['launch-ehr', 'launch-standalone', 'client-public', 'sso-openid-connect', 'permission-v2', 'context-standalone-patient']);
    expect(config.token_endpoint_auth_signing_alg_values_supported).to.include.members(['RS384', 'ES384']);
  });

  it('serves an OpenID configuration whose issuer and endpoints match the SMART configuration', async () => {
    const smart = (await (await fetch(`${server.fhirUrl}/.well-known/smart-configuration`)).json()) as Record<string, string>;
    const res = await fetch(`${smart.issuer}/.well-known/openid-configuration`);
    expect(res.status).to.equal(200);
    const openid = (await res.json()) as Record<string, unknown>;
    expect(openid.issuer).to.equal(smart.issuer);
    expect(openid.token_endpoint).to.equal(smart.token_endpoint);
    expect(openid.authorization_endpoint).to.equal(smart.authorization_endpoint);
    expect(openid.jwks_uri).to.equal(smart.jwks_uri);
    expect(openid.id_token_signing_alg_values_supported).to.include('RS256');
    const jwks = (await (await fetch(String(openid.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.some((k) => k.alg === 'RS256')).to.equal(true);
    expect(jwks.keys.every((k) => !('d' in k)), 'only public keys are published').to.equal(true);
  });

  it('declares SMART security with the OAuth endpoints in the CapabilityStatement, readable without a token', async () => {
    const res = await fhirFetch<CapabilityStatement>(`${server.fhirUrl}/metadata`, { anonymous: true });
    expect(res.status).to.equal(200);
    const security = res.body.rest![0].security!;
    expect(security.cors).to.equal(true);
    expect(security.service![0].coding![0].code).to.equal('SMART-on-FHIR');
    const uris = Object.fromEntries(security.extension![0].extension!.map((e) => [e.url, e.valueUri]));
    expect(uris.token).to.equal(`${server.baseUrl}/auth/token`);
    expect(uris.authorize).to.equal(`${server.baseUrl}/auth/authorize`);
  });

  it('answers 401 with WWW-Authenticate to a request without a token, with a bad one, and with one for another audience', async () => {
    const none = await fhirFetch<OperationOutcome>(`${server.fhirUrl}/Patient`, { anonymous: true });
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer realm=/);
    expect(none.body.resourceType).to.equal('OperationOutcome');
    const bogus = await fhirFetch(`${server.fhirUrl}/Patient`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(bogus.status).to.equal(401);
    expect(bogus.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
    const malformed = await fhirFetch(`${server.fhirUrl}/Patient`, { headers: { authorization: 'Basic abc' } });
    expect(malformed.status).to.equal(401);
    // A token the authorization server issued for another resource server (edited in the database,
    // as no request to this server can produce one).
    const header = (await authorizationFor(server.fhirUrl)).authorization!;
    const token = header.slice('Bearer '.length);
    const client = new MongoClient(server.mongoUri);
    try {
      const tokens = client.db(server.databaseName).collection('auth_tokens');
      const _id = createHash('sha256').update(token).digest('base64url');
      const original = await tokens.findOne({ _id } as never);
      expect(original, 'the token is stored under its hash').to.not.equal(null);
      await tokens.updateOne({ _id } as never, { $set: { 'payload.aud': 'https://other.example/fhir' } });
      const foreign = await fhirFetch(`${server.fhirUrl}/Patient`, { headers: { authorization: header } });
      expect(foreign.status).to.equal(401);
      await tokens.updateOne({ _id } as never, { $set: { 'payload.exp': Math.floor(Date.now() / 1000) - 5, 'payload.aud': original!.payload.aud } });
      const expired = await fhirFetch(`${server.fhirUrl}/Patient`, { headers: { authorization: header } });
      expect(expired.status).to.equal(401);
      expect(expired.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
      await tokens.replaceOne({ _id } as never, original!);
    } finally {
      await client.close();
    }
  });

  it('stores no token in the clear', async () => {
    const token = (await authorizationFor(server.fhirUrl)).authorization!.slice('Bearer '.length);
    const client = new MongoClient(server.mongoUri);
    try {
      const db = client.db(server.databaseName);
      for (const name of ['auth_tokens', 'auth_session', 'auth_authorizationcode', 'auth_refreshtoken']) {
        const found = await db.collection(name).find({}).toArray();
        expect(JSON.stringify(found), name).to.not.include(token);
      }
    } finally {
      await client.close();
    }
  });

  it('lets browser apps on other origins call the API: CORS headers and preflight', async () => {
    const preflight = await fetch(`${server.fhirUrl}/Patient`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-allow-origin')).to.equal('*');
    expect(preflight.headers.get('access-control-allow-headers')).to.match(/Authorization/i);
    const read = await fhirFetch(`${server.fhirUrl}/Patient?_count=1`, { headers: { origin: 'https://app.example' } });
    expect(read.status).to.equal(200);
    expect(read.headers.get('access-control-allow-origin')).to.equal('*');
    expect(read.headers.get('access-control-expose-headers')).to.match(/Location/);
    const metadata = await fetch(`${server.fhirUrl}/metadata`, { headers: { origin: 'https://app.example' } });
    expect(metadata.headers.get('access-control-allow-origin')).to.equal('*');
  });

  it('creates an EHR launch context only for staff or a system client with the launch scope', async () => {
    const url = `${server.baseUrl}/auth/launch`;
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ patient: 'example' }) });
    expect((await post({})).status).to.equal(401);
    expect((await post(await authorizationFor(server.fhirUrl))).status, 'a system client without the launch scope').to.equal(403);
  });
});
