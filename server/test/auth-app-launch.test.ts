// SMART App Launch as an app sees it, with openid-client: the token response, the id_token, refresh
// tokens and their rotation, introspection and revocation, authorize by POST, and each way an
// authorization request or a code exchange can be wrong.
// See: https://hl7.org/fhir/smart-app-launch/app-launch.html
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { authorizationUrl, browserFor, createPatient, exchange, registerApp, registerPatient, startAccountsServer, type AccountsServer, type TestApp } from './support/accounts.ts';
import type { PageBrowser } from './support/page-browser.ts';
import { allowAll, launch as launchThroughPages } from './support/smart-sign-in.ts';

describe('SMART App Launch (standalone) with openid-client', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  let browser: PageBrowser;
  let patientId: string;
  before(async () => {
    server = await startAccountsServer();
    const patient = await createPatient(server);
    patientId = patient.id;
    ({ browser } = await registerPatient(server, patient));
  });
  after(async () => {
    await server?.close();
  });

  async function launch(app: TestApp, scope: string) {
    const auth = await authorizationUrl(server, app, scope);
    return exchange(app, auth, await allowAll(browser, await browser.visit(auth.url)));
  }

  it('answers with the SMART context, the scopes granted, an RS256 id_token with fhirUser, and a refresh token for offline_access', async () => {
    const app = await registerApp(server);
    const tokens = await launch(app, 'openid fhirUser launch/patient offline_access patient/Observation.rs patient/Patient.rs');
    expect(tokens.token_type.toLowerCase()).to.equal('bearer');
    expect(tokens.expires_in).to.be.within(1, 3600);
    expect(tokens.patient).to.equal(patientId);
    expect(tokens.need_patient_banner).to.equal(false);
    const scopes = String(tokens.scope).split(' ');
    expect(scopes).to.include.members(['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/Patient.rs']);
    expect(tokens.refresh_token, 'offline_access gives a refresh token').to.be.a('string');
    const header = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0], 'base64url').toString()) as { alg: string };
    expect(header.alg).to.equal('RS256');
    expect(tokens.claims()!.fhirUser).to.equal(`${server.fhirUrl}/Patient/${patientId}`);
    // smart_style_url serves real JSON.
    const style = await fetch(String(tokens.smart_style_url));
    expect(style.status).to.equal(200);
    expect(((await style.json()) as Record<string, unknown>).color_highlight).to.match(/^#[0-9a-f]{6}$/i);
    // The id_token's fhirUser is readable with the access token.
    const me = await fetch(String(tokens.claims()!.fhirUser), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).to.equal(200);
  });

  it('rotates refresh tokens; a refresh token used twice revokes the whole grant', async () => {
    const app = await registerApp(server);
    const first = await launch(app, 'launch/patient offline_access patient/Patient.rs');
    const second = await oidc.refreshTokenGrant(app.config, first.refresh_token!);
    expect(second.refresh_token).to.be.a('string').and.not.equal(first.refresh_token);
    expect(second.patient, 'the context is kept').to.equal(patientId);
    const read = (token: string) => fetch(`${server.fhirUrl}/Patient/${patientId}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await read(second.access_token)).status).to.equal(200);
    // The first refresh token again: refused, and everything of the grant is revoked.
    let reuse: unknown;
    try {
      await oidc.refreshTokenGrant(app.config, first.refresh_token!);
    } catch (err) {
      reuse = err;
    }
    expect((reuse as { error?: string })?.error).to.equal('invalid_grant');
    expect((await read(second.access_token)).status, 'the grant’s newer access token is revoked too').to.equal(401);
    let newest: unknown;
    try {
      await oidc.refreshTokenGrant(app.config, second.refresh_token!);
    } catch (err) {
      newest = err;
    }
    expect((newest as { error?: string })?.error).to.equal('invalid_grant');
  });

  it('a refresh may ask for fewer scopes, never more', async () => {
    const app = await registerApp(server);
    const first = await launch(app, 'launch/patient offline_access patient/Patient.rs patient/Observation.rs');
    const narrower = await oidc.refreshTokenGrant(app.config, first.refresh_token!, { scope: 'patient/Patient.rs' });
    expect(String(narrower.scope).split(' ')).to.include('patient/Patient.rs').and.not.include('patient/Observation.rs');
    let wider: unknown;
    try {
      await oidc.refreshTokenGrant(app.config, narrower.refresh_token!, { scope: 'patient/Patient.rs patient/Condition.rs' });
    } catch (err) {
      wider = err;
    }
    expect((wider as { error?: string })?.error).to.be.oneOf(['invalid_scope', 'invalid_grant']);
  });

  it('a confidential app introspects its tokens (patient as a bare id, fhirUser, scope, client_id, exp) and revokes them', async () => {
    const redirectUri = 'https://confidential.example.org/callback';
    const created = await server.running.auth.services.clients.create({ name: 'Confidential app', type: 'confidential', redirectUris: [redirectUri] });
    const config = new oidc.Configuration(
      {
        issuer: `${server.baseUrl}/auth`,
        authorization_endpoint: `${server.baseUrl}/auth/authorize`,
        token_endpoint: `${server.baseUrl}/auth/token`,
        introspection_endpoint: `${server.baseUrl}/auth/introspect`,
        revocation_endpoint: `${server.baseUrl}/auth/revoke`,
      },
      created.clientId,
      {},
      oidc.ClientSecretBasic(created.clientSecret!),
    );
    oidc.allowInsecureRequests(config);
    const app: TestApp = { clientId: created.clientId, redirectUri, config };
    const tokens = await launch(app, 'openid fhirUser launch/patient patient/Patient.rs');
    const info = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(info.active).to.equal(true);
    expect(info.patient).to.equal(patientId);
    expect(info.fhirUser).to.equal(`${server.fhirUrl}/Patient/${patientId}`);
    expect(info.scope).to.include('patient/Patient.rs');
    expect(info.client_id).to.equal(created.clientId);
    expect(info.exp).to.be.a('number');
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
    const read = await fetch(`${server.fhirUrl}/Patient/${patientId}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(read.status).to.equal(401);
  });

  it('takes the authorization request by POST as well as by GET', async () => {
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
    const url = new URL(auth.url);
    const posted = await browser.request(`${url.origin}${url.pathname}`, { form: Object.fromEntries(url.searchParams) });
    const tokens = await exchange(app, auth, await allowAll(browser, await browser.follow(posted)));
    expect(tokens.patient).to.equal(patientId);
  });

  describe('refuses what is wrong', () => {
    let app: TestApp;
    before(async () => {
      app = await registerApp(server);
    });

    it('an unregistered redirect URI: an error page, no redirect to it', async () => {
      const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
      const url = new URL(auth.url);
      url.searchParams.set('redirect_uri', 'https://evil.example/callback');
      const res = await browserFor(server).get(url.toString());
      expect(res.status).to.equal(400);
      expect(res.location ?? '').to.not.include('evil.example');
    });

    it('an aud other than this FHIR server: the app gets an error, no code', async () => {
      const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs', { aud: 'https://other.example/fhir' });
      const res = await browser.get(auth.url);
      const location = new URL(res.location!);
      expect(location.origin + location.pathname).to.equal(app.redirectUri);
      expect(location.searchParams.get('error')).to.equal('invalid_request');
      expect(location.searchParams.get('code')).to.equal(null);
    });

    it('PKCE: "plain" is refused, and a wrong or missing verifier gets no token', async () => {
      const plain = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs', { code_challenge_method: 'plain', code_challenge: 'x'.repeat(43) });
      const refused = new URL((await browser.get(plain.url)).location!);
      expect(refused.searchParams.get('error')).to.equal('invalid_request');

      for (const verifier of ['wrong-verifier-wrong-verifier-wrong-verifier-x', undefined]) {
        const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
        const redirect = await allowAll(browser, await browser.visit(auth.url));
        const code = new URL(redirect.location!).searchParams.get('code')!;
        const res = await fetch(`${server.baseUrl}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: app.redirectUri,
            client_id: app.clientId,
            ...(verifier ? { code_verifier: verifier } : {}),
          }),
        });
        expect(res.status, `verifier ${verifier ?? 'missing'}`).to.equal(400);
        expect(((await res.json()) as { error: string }).error).to.be.oneOf(['invalid_grant', 'invalid_request']);
      }
    });

    it('a code used twice, and a code made up: invalid_grant', async () => {
      const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
      const redirect = await allowAll(browser, await browser.visit(auth.url));
      await exchange(app, auth, redirect);
      let again: unknown;
      try {
        await exchange(app, auth, redirect);
      } catch (err) {
        again = err;
      }
      expect((again as { error?: string })?.error).to.equal('invalid_grant');
      const bogus = await fetch(`${server.baseUrl}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: 'made-up', redirect_uri: app.redirectUri, client_id: app.clientId, code_verifier: 'x'.repeat(43) }),
      });
      expect(bogus.status).to.equal(400);
      expect(((await bogus.json()) as { error: string }).error).to.equal('invalid_grant');
    });

    it('a state changed on the way back is noticed by the app (the server returns the state it was given)', async () => {
      const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
      const redirect = await allowAll(browser, await browser.visit(auth.url));
      expect(new URL(redirect.location!).searchParams.get('state')).to.equal(auth.state);
      const tampered = { ...redirect, location: redirect.location!.replace(`state=${auth.state}`, 'state=tampered') };
      let error: unknown;
      try {
        await exchange(app, auth, tampered);
      } catch (err) {
        error = err;
      }
      expect(error, 'openid-client refuses a changed state').to.be.instanceOf(Error);
    });
  });
});

describe('SMART App Launch on a server whose base URL has dots in its host (a host name, an IP address)', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  before(async () => {
    server = await startAccountsServer({ host: '127.0.0.1' });
  });
  after(async () => {
    await server?.close();
  });

  // The grant and the interaction are keyed by the FHIR base URL (the resource indicator), which
  // the local database refused as a field name: the consent step answered 500.
  it('a patient allows an app and it reads their record; the next launch is answered from the remembered grant', async () => {
    expect(server.fhirUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
    const patient = await createPatient(server);
    const { browser } = await registerPatient(server, patient);
    const app = await registerApp(server);
    const scopes = ['launch/patient', 'patient/Patient.rs'];
    const { token } = await launchThroughPages(server, browser, app, scopes);
    const read = await fetch(`${server.fhirUrl}/Patient/${patient.id}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    expect(read.status).to.equal(200);
    expect(((await read.json()) as { id: string }).id).to.equal(patient.id);

    const auth = await authorizationUrl(server, app, ['openid', 'fhirUser', ...scopes].join(' '));
    const again = await browser.visit(auth.url);
    expect(again.status, 'no consent page the second time: straight back to the app').to.equal(303);
    const tokens = await exchange(app, auth, again);
    expect(tokens.patient).to.equal(patient.id);
    expect(String(tokens.scope).split(' ')).to.include('patient/Patient.rs');
  });
});
