// Everything the account flows share, built once at start-up (server.ts) and handed to the pages
// and the admin operations.
import type { Db } from 'mongodb';
import type { ServerConfig } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { SecretBox } from '../secret-box.ts';
import { AccountSessions } from './account-sessions.ts';
import { AccountStore } from './account-store.ts';
import { createMailer, type Mailer } from './mailer.ts';
import { OneTimeSecrets } from './one-time-secrets.ts';
import { StoredSecurityEvents, type SecurityEvents } from './security-events.ts';
import { SignInThrottle } from './sign-in-throttle.ts';

/** Medical record numbers: Patient.identifier with this system. */
export const MRN_SYSTEM = 'https://health-records.dev/fhir/sid/mrn';

/** The FHIR records the account flows look at, read with the server's own rights. */
export interface PatientRecords {
  read(type: 'Patient' | 'RelatedPerson' | 'Practitioner', id: string): Promise<Record<string, unknown> | undefined>;
  /** The Patient with this MRN (undefined when none, or when several share it). */
  patientByMrn(mrn: string): Promise<{ id: string; resource: Record<string, unknown> } | undefined>;
  /** RelatedPersons linked to a patient (the people a patient may invite as proxies). */
  relatedPersonsOf(patientId: string): Promise<Array<{ id: string; resource: Record<string, unknown> }>>;
  /** Patients whose name or MRN matches (the staff patient picker). */
  searchPatients(text: string, limit: number): Promise<Array<{ id: string; resource: Record<string, unknown> }>>;
}

export interface AccountServices {
  config: ServerConfig;
  log: Logger;
  db: Db;
  box: SecretBox;
  accounts: AccountStore;
  sessions: AccountSessions;
  throttle: SignInThrottle;
  events: StoredSecurityEvents;
  secrets: OneTimeSecrets;
  mailer: Mailer;
  records: PatientRecords;
}

export async function createAccountServices(o: { config: ServerConfig; log: Logger; db: Db; box: SecretBox; accounts: AccountStore; records: PatientRecords; mailer?: Mailer; audit?: SecurityEvents }): Promise<AccountServices> {
  const sessions = new AccountSessions(o.db, { idleMinutes: o.config.auth.sessionIdleMinutes, maxHours: o.config.auth.sessionMaxHours });
  const events = new StoredSecurityEvents(o.db, o.log, o.audit);
  const secrets = new OneTimeSecrets(o.db);
  await Promise.all([sessions.ensureIndexes(), events.ensureIndexes(), secrets.ensureIndexes()]);
  const { audit: _audit, ...rest } = o;
  return {
    ...rest,
    sessions,
    events,
    secrets,
    throttle: new SignInThrottle(o.db),
    mailer: o.mailer ?? createMailer(o.config.mail),
  };
}

/** Deletes what has expired (run with the authorization server's sweep). */
export async function sweepAccounts(s: AccountServices): Promise<void> {
  await Promise.all([s.sessions.sweep(), s.throttle.sweep(), s.secrets.sweep()]);
}

/** A person's name as written in a FHIR resource. */
export function nameOf(resource: Record<string, unknown> | undefined): string | undefined {
  const names = resource?.name as Array<{ text?: string; given?: string[]; family?: string }> | undefined;
  const n = names?.[0];
  if (!n) return undefined;
  return n.text ?? ([...(n.given ?? []), n.family].filter(Boolean).join(' ') || undefined);
}

/** Email addresses in a resource's telecom. */
export function emailsOf(resource: Record<string, unknown> | undefined): string[] {
  const telecom = (resource?.telecom ?? []) as Array<{ system?: string; value?: string }>;
  return telecom.filter((t) => t.system === 'email' && t.value).map((t) => t.value!.trim().toLowerCase());
}
