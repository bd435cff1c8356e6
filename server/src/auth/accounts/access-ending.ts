// Ending a person's access everywhere at once: their sign-in sessions on the clinic's pages, the
// authorization server's sessions, and every access and refresh token and unused authorization
// code issued to them (records of oidc-provider carry the account id; see oidc-adapter.ts).
// Remembered app authorizations (grants) stay: they are decisions, not credentials.
import type { Db } from 'mongodb';
import { collectionOf } from '../oidc-adapter.ts';
import type { AccountSessions, ActiveSession } from './account-sessions.ts';

const TOKEN_MODELS = ['Session', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Interaction'];

export async function endAccess(db: Db, sessions: AccountSessions, accountId: string, except?: ActiveSession): Promise<void> {
  await sessions.endAllOf(accountId, except);
  for (const name of new Set(TOKEN_MODELS.map(collectionOf))) {
    await db.collection(name).deleteMany({ accountId });
  }
}

/** Ends an app's access when it is removed: every token and unused code issued to it. */
export async function endClientAccess(db: Db, clientId: string): Promise<void> {
  for (const name of new Set(['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode'].map(collectionOf))) {
    await db.collection(name).deleteMany({ 'payload.clientId': clientId });
  }
}

/** Ends one authorization server session (the browser's, at sign-out) by its cookie value. */
export async function endProviderSession(db: Db, cookieValue: string | undefined, hash: (id: string) => string): Promise<void> {
  if (!cookieValue || cookieValue.length > 200) return;
  await db.collection(collectionOf('Session')).deleteOne({ _id: hash(cookieValue) } as never);
}

/**
 * Revokes one app authorization: the grant, its launch context and decision, and every token and
 * code issued under it (records carry their grant id).
 */
export async function revokeGrant(db: Db, grantId: string, hash: (id: string) => string): Promise<void> {
  for (const name of new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode'].map(collectionOf))) {
    await db.collection(name).deleteMany({ grantId });
  }
  await db.collection(collectionOf('Grant')).deleteOne({ _id: hash(grantId) } as never);
  await db.collection('auth_grant_contexts').deleteOne({ _id: grantId } as never);
}
