// The SMART authorization server: oidc-provider configured for SMART App Launch 2.x (standalone and
// EHR launch, PKCE, v1/v2 and granular scopes, refresh tokens) and SMART Backend Services.
// See: https://hl7.org/fhir/smart-app-launch/ and https://github.com/panva/node-oidc-provider
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from 'mongodb';
import type { ServerConfig } from '../config.ts';
import { parseResourceScope, type ResourceScope } from '../access/smart-scopes.ts';
import type { AccountDirectory, AccountInfo } from './account-directory.ts';
import type { ClientRegistry } from './clients.ts';
import { STATIC_SCOPES } from './clients.ts';
import { AUTH_ROUTES, authEndpoints } from './endpoints.ts';
import type { GrantContexts } from './grant-contexts.ts';
import type { LaunchContexts } from './launch-contexts.ts';
import { resolveContext } from './launch-resolution.ts';
import { mongoAdapter } from './oidc-adapter.ts';
import { findRememberedGrant } from './scope-decisions.ts';
import type { KeySet } from './signing-keys.ts';
import { renderPage } from './pages/layout.ts';
import { html, trusted } from './pages/html.ts';

export interface ProviderDependencies {
  config: ServerConfig;
  db: Db;
  keys: KeySet;
  clients: ClientRegistry;
  accounts: AccountDirectory;
  grants: GrantContexts;
  launches: LaunchContexts;
  /**
   * The account signed in on the clinic's pages in this browser (the value of their session
   * cookie `accountSessionCookie`), when that session has not ended: oidc-provider's session lasts
   * only as long as it (sign-out, idle and absolute timeouts, password changes end both).
   */
  signedInAccount?: (sessionCookie: string | undefined) => Promise<string | undefined>;
  accountSessionCookie?: string;
  /**
   * Ends the browser's session on the clinic's pages (the value of `accountSessionCookie`): an app's
   * sign-out (RP-initiated logout, confirmed) ends it too, or the next sign-in would need no password.
   */
  endAccountSession?: (sessionCookie: string | undefined) => Promise<void>;
  /** Whether a Patient exists (the staff patient picker). */
  patientExists?: (id: string) => Promise<boolean>;
}

/**
 * The interaction policy: oidc-provider's, plus a login check that asks for a new sign-in when the
 * browser's session on the clinic's pages has ended.
 */
function policyFor(deps: ProviderDependencies) {
  const policy = interactionPolicy.base();
  const { signedInAccount, accountSessionCookie } = deps;
  if (signedInAccount && accountSessionCookie) {
    policy.get('login')!.checks.add(
      new interactionPolicy.Check('account_session_ended', 'the sign-in session has ended', async (ctx) => {
        const accountId = ctx.oidc.session?.accountId;
        if (!accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT; // no_session asks already
        const signedIn = await signedInAccount(ctx.cookies.get(accountSessionCookie, { signed: false }));
        return signedIn === accountId ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
      }),
    );
  }
  return policy;
}

/**
 * Who the person is in the context of a patient: a proxy acting for someone is the RelatedPerson
 * that links them; otherwise their own resource.
 */
export function fhirUserFor(account: AccountInfo, patient: string | undefined): string | undefined {
  const link = patient ? account.proxyFor.find((l) => l.patient === patient) : undefined;
  if (link && account.fhirUser !== `Patient/${patient}`) return `RelatedPerson/${link.relatedPerson}`;
  return account.fhirUser ?? (account.proxyFor[0] ? `RelatedPerson/${account.proxyFor[0].relatedPerson}` : undefined);
}

/** A client assertion may not be valid for longer than this (SMART Backend Services). */
const MAX_ASSERTION_LIFETIME_S = 5 * 60;

/** True when `allowed` (a scope a client may have) covers `requested`. */
export function scopeCovers(allowed: ResourceScope, requested: ResourceScope): boolean {
  if (allowed.context !== requested.context) return false;
  if (allowed.resourceType !== '*' && allowed.resourceType !== requested.resourceType) return false;
  for (const a of requested.actions) if (!allowed.actions.has(a)) return false;
  // A granular allowance only covers requests with the same restriction.
  if (allowed.query && JSON.stringify(allowed.query) !== JSON.stringify(requested.query)) return false;
  return true;
}

/** The requested resource scopes a client is allowed: the resource server's scopes for this request. */
export function allowedResourceScopes(requested: Iterable<string>, clientAllowed: string): string[] {
  const allowances = clientAllowed
    .split(' ')
    .map(parseResourceScope)
    .filter((s): s is ResourceScope => s !== undefined);
  const out: string[] = [];
  for (const text of new Set(requested)) {
    const scope = parseResourceScope(text);
    if (scope && allowances.some((a) => scopeCovers(a, scope))) out.push(text);
  }
  return out;
}

/** Every scope value this request could involve (authorization request, code, refresh token, grant). */
function requestedScopes(ctx: KoaContextWithOIDC, resource: string): string[] {
  const oidc = ctx.oidc;
  const texts: string[] = [];
  const add = (s: unknown) => {
    if (typeof s === 'string') texts.push(...s.split(' ').filter(Boolean));
  };
  add(oidc.params?.scope);
  add(oidc.entities.AuthorizationCode?.scope);
  add(oidc.entities.RefreshToken?.scope);
  add(oidc.entities.Grant?.getResourceScopeEncountered(resource));
  return texts;
}

export function createProvider(deps: ProviderDependencies): Provider {
  const { config, accounts, clients, grants, launches } = deps;
  const endpoints = authEndpoints(config.baseUrl);
  const fhirBase = `${config.baseUrl}/fhir`;
  const auth = config.auth;

  const configuration: Configuration = {
    adapter: mongoAdapter(deps.db, clients),
    jwks: deps.keys.jwks as Configuration['jwks'],
    cookies: {
      keys: deps.keys.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    routes: AUTH_ROUTES,
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'],
      idTokenSigningAlgValues: ['RS256', 'ES256'],
    },
    scopes: [...STATIC_SCOPES],
    claims: {
      openid: ['sub'],
      fhirUser: ['fhirUser'],
      profile: ['name'],
      email: ['email'],
    },
    // SMART: the id_token carries fhirUser even though an access token is issued too.
    conformIdTokenClaims: false,
    async findAccount(ctx, sub, token) {
      const account = await accounts.find(sub);
      if (!account) return undefined;
      // fhirUser in the context of the grant: a proxy acting for a patient is the RelatedPerson
      // that links them (they have no resource of their own).
      const grantId = (token as { grantId?: string } | undefined)?.grantId ?? ctx?.oidc?.entities.Grant?.jti;
      const context = grantId ? await grants.get(grantId) : undefined;
      const fhirUser = fhirUserFor(account, context?.patient);
      return {
        accountId: account.id,
        async claims() {
          return {
            sub: account.id,
            ...(fhirUser ? { fhirUser: `${fhirBase}/${fhirUser}` } : {}),
            ...(account.name ? { name: account.name } : {}),
            email: account.email,
          };
        },
      };
    },
    extraParams: {
      // SMART: the app names the FHIR server it wants tokens for; any other audience gets no code.
      aud(ctx, value) {
        restoreOfflineAccess(ctx);
        const scope = String(ctx.oidc.params?.scope ?? '');
        const smart = scope.split(' ').some((s) => s.startsWith('launch') || parseResourceScope(s) !== undefined);
        if (value === undefined && !smart) return;
        if (value === undefined) throw new errors.InvalidRequest('aud is required: the FHIR base URL the app wants to access');
        if (String(value).replace(/\/+$/, '') !== fhirBase) throw new errors.InvalidRequest(`aud must be this server's FHIR base URL (${fhirBase})`);
      },
      // EHR launch: the launch value a staff app created; its context goes into the tokens.
      async launch(ctx, value) {
        const scopes = String(ctx.oidc.params?.scope ?? '').split(' ');
        if (value === undefined) {
          if (scopes.includes('launch')) throw new errors.InvalidRequest('the launch scope needs the launch parameter (EHR launch)');
          return;
        }
        if (!(await launches.find(String(value)))) throw new errors.InvalidRequest('the launch value is unknown or has expired');
      },
    },
    pkce: {
      // SMART App Launch 2: PKCE (S256; "plain" is refused) for every app.
      required: () => true,
    },
    features: {
      devInteractions: { enabled: false },
      // A client introspects and revokes its own tokens only (the FHIR API checks tokens itself).
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // The confirmation in the clinic's own page frame (oidc-provider's default is unstyled).
        // `form` is oidc-provider's hidden form (its anti-forgery value); the buttons submit it.
        logoutSource: async (ctx, form) => {
          const app = ctx.oidc.client?.clientName;
          ctx.type = 'html';
          ctx.body = renderPage({
            clinicName: config.clinic.name,
            title: 'Sign out',
            body: html`<h1>Sign out</h1>
<p>${app ? `You signed out of ${app}. ` : ''}Do you also want to sign out of ${config.clinic.name} on this device? Then the next sign-in asks for your password again.</p>
${trusted(form)}
<div class="actions"><button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button><button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button></div>`,
          });
        },
      },
      resourceIndicators: {
        enabled: true,
        // SMART apps say which server with `aud`, not `resource`: every token is for the FHIR API.
        defaultResource: async () => fhirBase,
        useGrantedResource: async () => true,
        async getResourceServerInfo(ctx, resource, client) {
          if (resource.replace(/\/+$/, '') !== fhirBase) throw new errors.InvalidTarget();
          const record = await clients.get(client.clientId);
          const scope = allowedResourceScopes(requestedScopes(ctx, resource), record?.allowedScope ?? '').join(' ');
          const clientCredentials = ctx.oidc.params?.grant_type === 'client_credentials';
          // A backend service gets a token only for scopes it is registered for.
          if (clientCredentials && !scope) throw new errors.InvalidScope('none of the requested scopes is allowed for this client', String(ctx.oidc.params?.scope ?? ''));
          return {
            scope,
            audience: fhirBase,
            accessTokenFormat: 'opaque',
            accessTokenTTL: clientCredentials ? Math.min(auth.accessTokenTtlSeconds, 300) : auth.accessTokenTtlSeconds,
          };
        },
      },
    },
    async extraTokenClaims(_ctx, token) {
      const grantId = (token as { grantId?: string }).grantId;
      if (!grantId) return undefined;
      const context = await grants.get(grantId);
      if (!context) return undefined;
      const account = await accounts.find(context.accountId);
      const fhirUser = account && fhirUserFor(account, context.patient);
      return {
        ...(context.patient ? { patient: context.patient } : {}),
        ...(context.encounter ? { encounter: context.encounter } : {}),
        ...(fhirUser ? { fhirUser: `${fhirBase}/${fhirUser}` } : {}),
        need_patient_banner: context.needPatientBanner,
      };
    },
    async issueRefreshToken(_ctx, client, code) {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      return code.scopes.has('offline_access') || code.scopes.has('online_access');
    },
    // online_access: the refresh token lives only as long as the user's session.
    expiresWithSession: async (_ctx, code) => !code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? auth.accessTokenTtlSeconds,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 60 * 60,
      Grant: 365 * 24 * 60 * 60,
      Session: auth.sessionMaxHours * 60 * 60,
      RefreshToken: (_ctx, token) => (token.scopes.has('offline_access') ? auth.refreshTokenDays * 24 * 60 * 60 : auth.sessionMaxHours * 60 * 60),
    },
    interactions: {
      policy: policyFor(deps),
      url: (_ctx, interaction) => `/auth/interaction/${interaction.uid}`,
    },
    // A grant the person made before for this app and the same patient answers the request
    // without the consent page when its decision covers every requested scope; the request's
    // scope becomes what was granted then (narrowed scopes included). A person who acts for
    // several patients picks one first (no grant here: the consent prompt shows the picker).
    async loadExistingGrant(ctx) {
      const consented = ctx.oidc.result?.consent?.grantId;
      if (consented) return ctx.oidc.provider.Grant.find(consented);
      const accountId = ctx.oidc.session?.accountId;
      const params = ctx.oidc.params;
      if (!accountId || !params || ctx.oidc.prompts.has('consent')) return undefined;
      const account = await accounts.find(accountId);
      if (!account) return undefined;
      const requested = String(params.scope ?? '').split(' ').filter(Boolean);
      const launch = typeof params.launch === 'string' ? params.launch : undefined;
      const resolution = await resolveContext(
        { accounts, launches, patientExists: deps.patientExists ?? (async () => false) },
        { account, clientId: ctx.oidc.client!.clientId, requested, launch },
      );
      if (resolution.kind !== 'ready') return undefined;
      const remembered = await findRememberedGrant(ctx.oidc.provider, grants, fhirBase, { context: resolution.context, requested });
      if (!remembered) return undefined;
      params.scope = remembered.scope;
      return ctx.oidc.provider.Grant.find(remembered.grantId);
    },
    // Browser apps on other origins call the token, introspection and revocation endpoints.
    clientBasedCORS: () => true,
    async assertJwtClientAuthClaimsAndHeader(_ctx, claims) {
      const now = Math.floor(Date.now() / 1000);
      if (typeof claims.exp === 'number' && claims.exp > now + MAX_ASSERTION_LIFETIME_S) {
        throw new errors.InvalidClientAuth('the client assertion expires more than 5 minutes ahead');
      }
      if (claims.iss !== claims.sub) throw new errors.InvalidClientAuth('the client assertion iss must equal its sub');
    },
    // JWKS URLs of clients: private addresses only where configured (SSRF protection otherwise).
    fetch: auth.allowPrivateJwksUrls ? (url, options) => globalThis.fetch(url, { ...options, dispatcher: undefined } as RequestInit) : undefined,
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in problem</title></head><body><main><h1>Something went wrong</h1><p>${escapeHtml(String(out.error_description ?? out.error))}</p></main></body></html>`;
    },
  };
  if (!configuration.fetch) delete configuration.fetch;

  const provider = new Provider(endpoints.issuer, configuration);
  provider.proxy = config.trustProxy;

  // An app's sign-out that the person confirmed ("Yes, sign me out": oidc-provider ended its own
  // session) ends the session on the clinic's pages as well, before the browser is sent back.
  // See: https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
  const { endAccountSession, accountSessionCookie } = deps;
  if (endAccountSession && accountSessionCookie) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.oidc?.route !== 'end_session_confirm' || !ctx.oidc.params?.logout || ctx.status >= 400) return;
      await endAccountSession(ctx.cookies.get(accountSessionCookie, { signed: false }));
      ctx.cookies.set(accountSessionCookie, null, { path: '/', httpOnly: true, sameSite: 'lax', signed: false });
    });
  }

  // SMART additions to the token response: the launch context of the grant.
  // See: https://hl7.org/fhir/smart-app-launch/app-launch.html#response-5
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    // RFC 6749 §5.1 (and SMART): token responses must not be cached, by HTTP/1.0 caches either.
    ctx.set('Pragma', 'no-cache');
    if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as Record<string, unknown>;
    // The access token carries the FHIR scopes; the app was granted the identity and launch ones
    // too (openid, fhirUser, launch/patient, offline_access): "scope" names all it got.
    const granted = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as { scope?: string } | undefined;
    const identity = String(granted?.scope ?? '').split(' ').filter((s) => STATIC_SCOPES.has(s));
    if (identity.length > 0 && typeof body.scope === 'string') body.scope = [...new Set([...identity, ...body.scope.split(' ').filter(Boolean)])].join(' ');
    const token = ctx.oidc.entities.AccessToken as { extra?: Record<string, unknown> } | undefined;
    const extra = token?.extra;
    if (!extra) return;
    if (typeof extra.patient === 'string') {
      body.patient = extra.patient;
      body.need_patient_banner = extra.need_patient_banner === true;
      body.smart_style_url = endpoints.style;
    }
    if (typeof extra.encounter === 'string') body.encounter = extra.encounter;
  });
  return provider;
}

/**
 * OpenID Connect grants offline_access only with prompt=consent, which SMART apps do not send
 * (SMART: offline_access asks for a refresh token). oidc-provider drops it from the request's
 * scopes before the extra parameters are checked; this puts it back when the app asked for it,
 * uses the code flow and may use refresh tokens. Consent then decides, as for every scope.
 * See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-a-refresh-token
 */
function restoreOfflineAccess(ctx: KoaContextWithOIDC): void {
  const params = ctx.oidc.params;
  if (!params) return;
  const raw = ctx.method === 'POST' ? (ctx.oidc.body as Record<string, unknown> | undefined)?.scope : ctx.query.scope;
  const asked = String(raw ?? '').split(' ');
  const current = String(params.scope ?? '').split(' ').filter(Boolean);
  if (!asked.includes('offline_access') || current.includes('offline_access')) return;
  if (!String(params.response_type ?? '').includes('code') || !ctx.oidc.client?.grantTypeAllowed('refresh_token')) return;
  params.scope = [...current, 'offline_access'].join(' ');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
