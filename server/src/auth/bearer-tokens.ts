// The FHIR API's token check: `Authorization: Bearer <token>` → who is asking and what the token
// grants (an AccessContext). Tokens are opaque and looked up where oidc-provider stored them, so a
// revoked token (or one of a revoked grant) fails on the very next request on every instance;
// lookups of concurrent requests are coalesced into one query (coalesced-lookups.ts).
// See: https://hl7.org/fhir/smart-app-launch/app-launch.html#access-fhir-api
// and RFC 6750 §3 for the WWW-Authenticate answers.
import type { Db } from 'mongodb';
import { parseScopes } from '../access/smart-scopes.ts';
import { OperationOutcomeError, issue } from '../fhir/outcome.ts';
import type { AccessContext, Principal } from '../fhir/types.ts';
import type { AccountDirectory } from './account-directory.ts';
import { coalescedLookup } from './coalesced-lookups.ts';
import { collectionOf, findRecord, type StoredRecord } from './oidc-adapter.ts';

export interface BearerCheck {
  /** The caller of a request with this Authorization header value; throws 401 when not valid. */
  authenticate(authorization: string | undefined, requestId: string): Promise<AccessContext>;
}

interface TokenPayload {
  accountId?: string;
  clientId?: string;
  scope?: string;
  exp?: number;
  aud?: string | string[];
  kind?: string;
  extra?: { patient?: string; encounter?: string; fhirUser?: string };
  /** online_access: the token ends with the sign-in session it was issued in. */
  expiresWithSession?: boolean;
  sessionUid?: string;
}

/** 401 with the header RFC 6750 asks for. */
export function invalidToken(description: string, realm: string): OperationOutcomeError {
  const err = new OperationOutcomeError(401, [issue('error', 'login', description)]);
  err.headers = { 'WWW-Authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${description.replace(/"/g, "'")}"` };
  return err;
}

export function missingToken(realm: string): OperationOutcomeError {
  const err = new OperationOutcomeError(401, [issue('error', 'login', 'This request needs an access token (Authorization: Bearer …)')]);
  err.headers = { 'WWW-Authenticate': `Bearer realm="${realm}"` };
  return err;
}

const BEARER = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i;

export function createBearerCheck(db: Db, accounts: AccountDirectory, fhirBase: string): BearerCheck {
  const realm = fhirBase;
  /** A short-lived memo of account roles: roles change rarely, and a token's account is fixed. */
  const roles = new Map<string, { role: Principal; at: number }>();

  async function userPrincipal(accountId: string): Promise<Principal | undefined> {
    const cached = roles.get(accountId);
    if (cached && Date.now() - cached.at < 5_000) return cached.role;
    const account = await accounts.find(accountId);
    if (!account) return undefined;
    const role: Principal = { kind: 'user', accountId, role: account.role, fhirUser: account.fhirUser };
    if (roles.size > 10_000) roles.clear();
    roles.set(accountId, { role, at: Date.now() });
    return role;
  }

  /**
   * The oidc-provider session a token was issued in still exists (it ends at sign-out or expiry).
   * Asked on every request of an online token, so coalesced like the token lookups.
   */
  const sessions = coalescedLookup<Pick<StoredRecord, 'uid' | 'expiresAt'>>(db, collectionOf('Session'), 'uid', { model: 'Session' }, { uid: 1, expiresAt: 1 });
  async function sessionAlive(uid: string | undefined): Promise<boolean> {
    if (!uid) return false;
    const now = Date.now();
    return (await sessions.find(uid)).some((s) => !s.expiresAt || s.expiresAt.getTime() > now);
  }

  return {
    async authenticate(authorization, requestId) {
      if (!authorization) throw missingToken(realm);
      const m = BEARER.exec(authorization);
      if (!m) throw invalidToken('The Authorization header must be "Bearer <access token>"', realm);
      const token = m[1];
      const record: StoredRecord | null = await findRecord(db, ['AccessToken', 'ClientCredentials'], token);
      if (!record) throw invalidToken('The access token is not valid (unknown, expired or revoked)', realm);
      const payload = record.payload as TokenPayload;
      if (typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now()) throw invalidToken('The access token has expired', realm);
      if (payload.expiresWithSession && !(await sessionAlive(payload.sessionUid))) {
        throw invalidToken('The access token ended with the sign-in session it was issued in', realm);
      }
      const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!audiences.includes(fhirBase)) throw invalidToken('The access token was issued for another audience', realm);
      let principal: Principal | undefined;
      if (record.model === 'ClientCredentials') {
        principal = { kind: 'system', clientId: String(payload.clientId) };
        // Recorded at issue (oidc-adapter.ts); tokens issued before that was done have none.
        if (record.clientGroup !== undefined) principal.group = record.clientGroup;
      } else if (payload.accountId) principal = await userPrincipal(payload.accountId);
      // Who the person is for this token: a proxy is the RelatedPerson of the patient in context.
      const fhirUser = payload.extra?.fhirUser?.startsWith(`${fhirBase}/`) ? payload.extra.fhirUser.slice(fhirBase.length + 1) : undefined;
      if (principal?.kind === 'user' && fhirUser) principal = { ...principal, fhirUser };
      if (!principal) throw invalidToken('The access token belongs to an account that no longer exists', realm);
      const ctx: AccessContext = { requestId, principal, grant: parseScopes(payload.scope), clientId: payload.clientId };
      if (payload.extra?.patient) ctx.patient = payload.extra.patient;
      if (payload.extra?.encounter) ctx.encounter = payload.extra.encounter;
      return ctx;
    },
  };
}

