// Access tokens of people (patients, proxies, staff, admins) for tests of what they see.
//
// A stand-in until the sign-in pages (developed on another branch) let tests get user tokens as
// a SMART app does: the account is created in the account store, and the token is made with
// oidc-provider's own AccessToken model and stored where the token endpoint stores it, with the
// fields an authorization_code grant gives it (account, client, scopes, audience, launch
// context). The FHIR API checks it with the real bearer check, as any token.
import { randomUUID } from 'node:crypto';
import { AccountStore, type AccountDocument } from '../../src/auth/accounts/account-store.ts';
import { PORTAL_CLIENT_ID } from '../../src/auth/auth-server.ts';
import type { AccountRole } from '../../src/auth/account-directory.ts';
import type { RunningServer } from '../../src/server.ts';

export interface UserTokenOptions {
  role: AccountRole;
  /** Patient/…, Practitioner/…; a proxy acts as the RelatedPerson of the patient in context. */
  fhirUser?: string;
  proxyFor?: AccountDocument['proxyFor'];
  /** The patient in context (launch/patient). */
  patient?: string;
  scope: string;
  /** Client the token is issued to (the portal by default). */
  clientId?: string;
}

export interface UserToken {
  token: string;
  accountId: string;
}

interface MintableToken {
  scope?: string;
  setAudience(aud: string): void;
  save(): Promise<string>;
}

export async function userToken(running: RunningServer, o: UserTokenOptions): Promise<UserToken> {
  const store = new AccountStore(running.database.db, async () => undefined);
  const account = await store.create({ email: `${o.role}.${randomUUID()}@example.org`, role: o.role, fhirUser: o.fhirUser, proxyFor: o.proxyFor });
  const provider = running.auth.services.provider() as unknown as {
    Client: { find(id: string): Promise<unknown> };
    AccessToken: new (fields: Record<string, unknown>) => MintableToken;
  };
  const client = await provider.Client.find(o.clientId ?? PORTAL_CLIENT_ID);
  if (!client) throw new Error(`no client ${o.clientId ?? PORTAL_CLIENT_ID}`);
  const fhirBase = `${running.auth.services.config.baseUrl}/fhir`;
  // The grant's launch context, as the consent step saves it: the token's patient and fhirUser
  // claims come from it (provider.ts extraTokenClaims).
  const grantId = randomUUID();
  await running.auth.services.grants.save(grantId, {
    accountId: account._id,
    clientId: o.clientId ?? PORTAL_CLIENT_ID,
    patient: o.patient,
    needPatientBanner: o.patient !== undefined && o.fhirUser !== `Patient/${o.patient}`,
  });
  const token = new provider.AccessToken({ accountId: account._id, client, grantId, gty: 'authorization_code' });
  token.scope = o.scope;
  token.setAudience(fhirBase);
  return { token: await token.save(), accountId: account._id };
}
