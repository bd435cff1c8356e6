// The authorization server's part of the audit trail: every access token issued at the token
// endpoint (to whom, for which app, which scopes, for which patient's record), every token
// request refused (failed client authentication, a bad code or refresh token), and every token
// revoked. Recorded by a middleware around oidc-provider's endpoints, after the response is set,
// from what oidc-provider already holds (no extra lookups; never the tokens themselves).
// See: https://github.com/panva/node-oidc-provider (ctx.oidc: route, client, params, entities)
import type Provider from 'oidc-provider';
import { clientAddress } from '../client-address.ts';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AuditActor, AuditRecorder, TokenAuditRecord } from './audit-record.ts';

/** What oidc-provider's token models hold that the trail records. */
interface TokenFacts {
  accountId?: string;
  clientId?: string;
  scope?: string;
  extra?: { patient?: unknown; fhirUser?: unknown };
}

const TOKEN_KINDS = ['AccessToken', 'ClientCredentials', 'RefreshToken'] as const;

/** A value a client sent, kept short (it is theirs, not ours). */
const clip = (v: unknown, n = 100): string | undefined => (typeof v === 'string' && v !== '' ? v.slice(0, n) : undefined);

function tokenOf(ctx: KoaContextWithOIDC): TokenFacts | undefined {
  const entities = ctx.oidc.entities as Record<string, unknown>;
  for (const kind of TOKEN_KINDS) if (entities[kind]) return entities[kind] as TokenFacts;
  return undefined;
}

function actorOf(ctx: KoaContextWithOIDC, token: TokenFacts | undefined, fhirBase: string, trustProxy: boolean): AuditActor {
  const actor: AuditActor = {};
  const clientId = token?.clientId ?? ctx.oidc.client?.clientId ?? clip(ctx.oidc.params?.client_id);
  if (clientId) actor.clientId = clientId;
  actor.address = clientAddress(ctx.req, trustProxy);
  if (token?.accountId) {
    actor.accountId = token.accountId;
    // The person as the token names them (a proxy is the RelatedPerson for the patient in context).
    const fhirUser = clip(token.extra?.fhirUser, 300);
    if (fhirUser) actor.fhirUser = fhirUser.startsWith(`${fhirBase}/`) ? fhirUser.slice(fhirBase.length + 1) : fhirUser;
  } else {
    actor.system = true;
  }
  return actor;
}

/** The audit record of a finished token or revocation request, or none (nothing happened). */
export function tokenRecord(ctx: KoaContextWithOIDC, fhirBase: string, trustProxy = false): TokenAuditRecord | undefined {
  const route = ctx.oidc?.route;
  if (route !== 'token' && route !== 'revocation') return undefined;
  const token = tokenOf(ctx);
  const base = { kind: 'token' as const, at: new Date(), actor: actorOf(ctx, token, fhirBase, trustProxy) };
  if (route === 'revocation') {
    // Revoking an unknown or expired token answers 200 too; only a token found was revoked.
    if (ctx.status !== 200 || !token) return undefined;
    return { ...base, event: 'token-revoked' };
  }
  const grantType = clip(ctx.oidc.params?.grant_type, 80);
  if (ctx.status !== 200) {
    const error = clip((ctx.body as { error?: unknown } | undefined)?.error, 60) ?? `HTTP ${ctx.status}`;
    return { ...base, event: 'token-refused', ...(grantType ? { grantType } : {}), error };
  }
  const access = (ctx.oidc.entities as Record<string, unknown>).AccessToken ?? (ctx.oidc.entities as Record<string, unknown>).ClientCredentials;
  const facts = (access ?? token) as TokenFacts | undefined;
  const record: TokenAuditRecord = { ...base, event: 'token-issued' };
  if (grantType) record.grantType = grantType;
  if (facts?.scope) record.scope = facts.scope.slice(0, 1000);
  const patient = clip(facts?.extra?.patient, 64);
  if (patient) record.patient = patient;
  return record;
}

/** Records the token endpoint's and the revocation endpoint's outcomes in the audit trail. */
export function auditTokenEndpoints(provider: Provider, audit: AuditRecorder, fhirBase: string, trustProxy: boolean): void {
  provider.use(async (ctx, next) => {
    await next();
    const record = tokenRecord(ctx as KoaContextWithOIDC, fhirBase, trustProxy);
    if (record) audit.record(record);
  });
}
