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
  extra?: Record<string, unknown>;
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
  const token = new provider.AccessToken({ accountId: account._id, client, gty: 'authorization_code' });
  token.scope = o.scope;
  token.setAudience(fhirBase);
  const fhirUser = o.proxyFor && o.patient ? `RelatedPerson/${o.proxyFor.find((l) => l.patient === o.patient)?.relatedPerson}` : o.fhirUser;
  token.extra = { ...(o.patient ? { patient: o.patient } : {}), ...(fhirUser ? { fhirUser: `${fhirBase}/${fhirUser}` } : {}) };
  return { token: await token.save(), accountId: account._id };
}
