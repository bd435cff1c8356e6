// A person and a SMART app getting an access token the way real ones do: the person registers
// with an activation code (MRN + date of birth + code) or signs in on the server's pages, the app
// (public, openid-client) sends an authorization request with PKCE, the person goes through the
// picker and consent pages in a PageBrowser, and the app exchanges the code at the token endpoint.
// Shared by the tests (accounts.ts, access-world.ts) and the benchmarks (bench/support/), which run
// the server in another process: nothing here needs the server in-process.
import * as oidc from 'openid-client';
import type { ClientRegistry } from '../../src/auth/clients.ts';
import { titleOf, type PageBrowser, type PageResponse } from './page-browser.ts';

/** Where the app and the person find the server. */
export interface SmartServer {
  /** e.g. http://127.0.0.1:41234 */
  baseUrl: string;
  /** e.g. http://127.0.0.1:41234/fhir (the `aud` of every authorization request) */
  fhirUrl: string;
}

export interface TestApp {
  clientId: string;
  redirectUri: string;
  config: oidc.Configuration;
}

export interface Authorization {
  url: string;
  verifier: string;
  state: string;
}

/** Registers a public app (as `npm run admin -- clients add --type public` would) and its openid-client view of the server. */
export async function registerPublicApp(clients: ClientRegistry, baseUrl: string, o: { name?: string; scope?: string } = {}): Promise<TestApp> {
  const redirectUri = 'https://app.example.org/callback';
  const created = await clients.create({ name: o.name ?? 'Test health app', type: 'public', redirectUris: [redirectUri], scope: o.scope });
  const config = new oidc.Configuration(
    { issuer: `${baseUrl}/auth`, authorization_endpoint: `${baseUrl}/auth/authorize`, token_endpoint: `${baseUrl}/auth/token` },
    created.clientId,
    {},
    oidc.None(),
  );
  oidc.allowInsecureRequests(config);
  return { clientId: created.clientId, redirectUri, config };
}

/** Registration on /account/register with an activation code; the browser is signed in afterwards. */
export async function registerWithCode(
  browser: PageBrowser,
  patient: { mrn: string; birthDate: string; email: string },
  code: string,
  password: string,
): Promise<void> {
  const form = await browser.visit('/account/register');
  const res = await browser.submit(form, '/account/register', { mrn: patient.mrn, birthDate: patient.birthDate, code, email: patient.email, password });
  if (res.status !== 303) throw new Error(`registration failed: ${res.status} ${res.text.slice(0, 2000)}`);
}

/** Sign-in on /account/sign-in with email and password (an account without a second factor). */
export async function signIn(browser: PageBrowser, email: string, password: string): Promise<void> {
  const res = await browser.submit(await browser.visit('/account/sign-in'), '/account/sign-in', { email, password });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status} ${res.text.slice(0, 500)}`);
}

export async function authorizationUrl(server: Pick<SmartServer, 'fhirUrl'>, app: TestApp, scope: string, extra: Record<string, string> = {}): Promise<Authorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(app.config, {
    redirect_uri: app.redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    aud: server.fhirUrl,
    ...extra,
  });
  return { url: url.toString(), verifier, state };
}

export async function exchange(app: TestApp, auth: Authorization, redirect: PageResponse) {
  if (!redirect.location?.startsWith(app.redirectUri)) throw new Error(`expected a redirect to the app, got ${redirect.status} ${redirect.location ?? redirect.text.slice(0, 1500)}`);
  return oidc.authorizationCodeGrant(app.config, new URL(redirect.location), { pkceCodeVerifier: auth.verifier, expectedState: auth.state });
}

/** The checkboxes a page shows checked, as a browser would submit them untouched. */
export function checkedBoxes(page: PageResponse): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of page.text.matchAll(/<input type="checkbox" name="([^"]+)"[^>]*value="([^"]*)"[^>]*\bchecked\b/g)) {
    (out[m[1]] ??= []).push(m[2].replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"'));
  }
  return out;
}

/** A consent page answered as a person who accepts everything it proposes would answer it. */
export async function allowAll(browser: PageBrowser, page: PageResponse): Promise<PageResponse> {
  if (!/^Allow/.test(titleOf(page))) return page; // remembered, or no consent asked
  return browser.follow(await browser.submit(page, /\/consent$/, { decision: 'allow', ...checkedBoxes(page) }));
}

export interface PersonToken {
  /** The access token. */
  token: string;
  /** The account the token was issued for: the id_token's sub. */
  accountId: string;
}

/** A standalone launch through the pages, signed in in `browser` (choosing `choosePatient` when asked whose record). */
export async function launch(server: Pick<SmartServer, 'fhirUrl'>, browser: PageBrowser, app: TestApp, scopes: string[], choosePatient?: string): Promise<PersonToken> {
  const auth = await authorizationUrl(server, app, ['openid', 'fhirUser', ...scopes].join(' '));
  let page = await browser.visit(auth.url);
  if (titleOf(page) === 'Whose record?' && choosePatient) page = await browser.get(`${new URL(page.url).pathname}?patient=${choosePatient}`);
  const tokens = await exchange(app, auth, await allowAll(browser, page));
  const accountId = tokens.claims()?.sub;
  if (!accountId) throw new Error('the token response has no id_token naming the account');
  return { token: tokens.access_token, accountId };
}
