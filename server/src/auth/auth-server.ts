// The authorization server, assembled: secrets, signing keys, clients, oidc-provider, the SMART
// discovery document, EHR launch contexts and the FHIR API's token check. Mounted into the same
// Express app as the FHIR API (app.ts); every instance shares its state through the database.
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Db } from 'mongodb';
import type Provider from 'oidc-provider';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { AuditRecorder } from '../audit/audit-record.ts';
import { auditTokenEndpoints } from '../audit/token-events.ts';
import type { AccountDirectory } from './account-directory.ts';
import { createBearerCheck, type BearerCheck } from './bearer-tokens.ts';
import { bearerCaller, oauthError } from './json-endpoint.ts';
import { ClientRegistry } from './clients.ts';
import { AUTH_MOUNT, authEndpoints, type AuthEndpoints } from './endpoints.ts';
import { GrantContexts } from './grant-contexts.ts';
import { LaunchContexts } from './launch-contexts.ts';
import { ensureAdapterIndexes, sweepExpired } from './oidc-adapter.ts';
import { createProvider } from './provider.ts';
import { loadSecret, SecretBox } from './secret-box.ts';
import { SigningKeys, type KeySet } from './signing-keys.ts';
import { smartConfiguration, smartStyle } from './smart-configuration.ts';

/** How often instances look for rotated keys. */
const KEY_CHECK_MS = 60_000;
/** How often expired authorization records are deleted. */
const SWEEP_MS = 5 * 60_000;
/** A retired signing key stays published this long: longer than any id_token it signed lives. */
const PUBLISH_RETIRED_KEYS_MS = 2 * 60 * 60_000;

const PROVIDER_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/** The portal's client id: a public SMART client registered at start-up. */
export const PORTAL_CLIENT_ID = 'patient-portal';

export interface AuthServices {
  config: ServerConfig;
  log: Logger;
  db: Db;
  box: SecretBox;
  endpoints: AuthEndpoints;
  clients: ClientRegistry;
  grants: GrantContexts;
  launches: LaunchContexts;
  accounts: AccountDirectory;
  keys: SigningKeys;
  /** The current provider (replaced when the signing keys rotate). */
  provider(): Provider;
}

export interface AuthServer {
  services: AuthServices;
  /** Launch API, sign-in pages and the provider's own endpoints (under /auth and /account). */
  router: Router;
  /** GET /fhir/.well-known/smart-configuration. */
  smartConfiguration: RequestHandler;
  bearer: BearerCheck;
  close(): void;
}

export interface AuthServerOptions {
  config: ServerConfig;
  log: Logger;
  db: Db;
  accounts: AccountDirectory;
  /** The database expires records itself (MongoDB TTL indexes); FerretDB relies on the sweep. */
  ttlIndexes: boolean;
  /**
   * Adds the sign-in, consent and account pages to the router (accounts/ and pages/); may return
   * what stops their timers.
   */
  mountPages?: (router: Router, services: AuthServices) => Promise<(() => void) | void> | void;
  /** The account signed in on the pages with this session cookie value (see provider.ts). */
  signedInAccount?: (sessionCookie: string | undefined) => Promise<string | undefined>;
  accountSessionCookie?: string;
  /** Ends the session on the pages with this session cookie value (an app's confirmed sign-out). */
  endAccountSession?: (sessionCookie: string | undefined) => Promise<void>;
  /** Whether a Patient exists (staff patient picker). */
  patientExists?: (id: string) => Promise<boolean>;
  /** The audit trail: tokens issued, refused and revoked are recorded in it. */
  audit?: AuditRecorder;
}

export async function createAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  const { config, log, db, accounts } = options;
  const endpoints = authEndpoints(config.baseUrl);
  const fhirBase = `${config.baseUrl}/fhir`;
  const box = new SecretBox(loadSecret(config.auth.secret, config.dataDir));
  const keys = new SigningKeys(db, box, PUBLISH_RETIRED_KEYS_MS);
  await keys.ensure();
  await ensureAdapterIndexes(db, options.ttlIndexes);
  const clients = new ClientRegistry(db, box);
  const grants = new GrantContexts(db);
  const launches = new LaunchContexts(db);
  await clients.ensure({
    clientId: PORTAL_CLIENT_ID,
    name: 'Patient portal',
    type: 'public',
    redirectUris: [`${config.baseUrl}/callback`],
    // Where its sign-out (RP-initiated logout) returns to.
    postLogoutRedirectUris: [`${config.baseUrl}/signed-out`],
    scope: 'openid fhirUser profile launch/patient offline_access online_access patient/*.cruds patient/*.rs',
  });

  let keySet: KeySet = await keys.load();
  const build = () => {
    const built = createProvider({
      config,
      db,
      keys: keySet,
      clients,
      accounts,
      grants,
      launches,
      signedInAccount: options.signedInAccount,
      accountSessionCookie: options.accountSessionCookie,
      endAccountSession: options.endAccountSession,
      patientExists: options.patientExists,
    });
    if (options.audit) auditTokenEndpoints(built, options.audit, fhirBase, config.trustProxy);
    return built;
  };
  let provider = build();
  let callback = provider.callback();

  const keyTimer = setInterval(() => {
    keys
      .load()
      .then((next) => {
        if (next.version === keySet.version) return;
        keySet = next;
        provider = build();
        callback = provider.callback();
        log.info({ keys: next.jwks.keys.length }, 'signing keys changed; authorization server reloaded');
      })
      .catch((err: unknown) => log.error({ err: { name: (err as Error).name } }, 'loading signing keys failed'));
  }, KEY_CHECK_MS);
  keyTimer.unref();
  const sweepTimer = setInterval(() => {
    Promise.all([sweepExpired(db), launches.sweep()]).catch((err: unknown) =>
      log.error({ err: { name: (err as Error).name } }, 'sweeping expired authorization records failed'),
    );
  }, SWEEP_MS);
  sweepTimer.unref();

  const services: AuthServices = { config, log, db, box, endpoints, clients, grants, launches, accounts, keys, provider: () => provider };
  const bearer = createBearerCheck(db, accounts, fhirBase);
  const router = express.Router();

  // Discovery for SMART apps: open, cacheable, readable from any origin.
  const discovery = smartConfiguration(endpoints);
  const smartConfigurationHandler: RequestHandler = (_req, res) => {
    res.set({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'public, max-age=3600' });
    res.json(discovery);
  };
  router.get(`${AUTH_MOUNT}/smart-style.json`, (_req, res) => {
    res.set({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'public, max-age=3600' });
    res.json(smartStyle(config.clinic));
  });
  router.post(`${AUTH_MOUNT}/launch`, express.json({ limit: '4kb' }), (req, res) => void createLaunch(req, res, services, bearer));
  // SMART authorize-post: an app may send the authorization request as a form POST. It is
  // answered with a redirect to the same request by GET: a top-level GET carries the SameSite=Lax
  // sign-in cookies (a cross-site POST does not), and oidc-provider takes POST only with
  // SameSite=None cookies, which plain-http deployments cannot set.
  // See: https://hl7.org/fhir/smart-app-launch/conformance.html#capabilities (authorize-post)
  router.post(`${AUTH_MOUNT}/authorize`, express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries((req.body ?? {}) as Record<string, unknown>)) {
      if (typeof value === 'string') params.append(key, value);
    }
    res.redirect(303, `${endpoints.authorize}?${params.toString()}`);
  });

  const stopPages = await options.mountPages?.(router, services);

  // Everything else under /auth is oidc-provider's (authorize, token, introspect, revoke, jwks, …).
  // Its own pages (form_post responses, the logout confirmation) post to the app or to itself and
  // carry an inline script oidc-provider allows by hash: a policy without form-action limits.
  router.use(AUTH_MOUNT, (req, res) => {
    res.setHeader('Content-Security-Policy', PROVIDER_CSP);
    void callback(req, res);
  });

  return {
    services,
    router,
    smartConfiguration: smartConfigurationHandler,
    bearer,
    close() {
      clearInterval(keyTimer);
      clearInterval(sweepTimer);
      stopPages?.();
    },
  };
}

/**
 * POST /auth/launch {patient, encounter?}: a staff app (or a system client with the `launch`
 * scope) creates an EHR launch context and gets the `launch` value to open a SMART app with.
 */
async function createLaunch(req: Request, res: Response, services: AuthServices, bearer: BearerCheck): Promise<void> {
  const fail = (status: number, error: string, description: string) => oauthError(res, status, error, description);
  const caller = await bearerCaller(bearer, req, res, 'A staff access token is required to create a launch');
  if (!caller) return;
  const staff = caller.principal.kind === 'user' && (caller.principal.role === 'staff' || caller.principal.role === 'admin');
  const system = caller.principal.kind === 'system' && caller.grant?.other.has('launch');
  if (!staff && !system) {
    fail(403, 'insufficient_scope', 'Only clinic staff (or a system client with the launch scope) can create a launch');
    return;
  }
  const body = (req.body ?? {}) as { patient?: unknown; encounter?: unknown };
  const id = /^[A-Za-z0-9\-.]{1,64}$/;
  if (typeof body.patient !== 'string' || !id.test(body.patient)) {
    fail(400, 'invalid_request', 'patient must be the id of a Patient');
    return;
  }
  if (body.encounter !== undefined && (typeof body.encounter !== 'string' || !id.test(body.encounter))) {
    fail(400, 'invalid_request', 'encounter must be the id of an Encounter');
    return;
  }
  const createdBy = caller.principal.kind === 'user' ? caller.principal.accountId : String(caller.clientId);
  const created = await services.launches.create({ patient: body.patient, encounter: body.encounter as string | undefined, createdBy });
  res.status(201).json({ launch: created.launch, expires_at: created.expiresAt.toISOString(), patient: body.patient, encounter: body.encounter });
}
