// The clinic's accounts: patients, proxies, staff and admins. Email is the username; each account
// links to the FHIR resource the person is (fhirUser). Credentials (password hash, second factors)
// live in the same document; nothing secret is stored in the clear.
import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { AccountDirectory, AccountInfo, AccountRole } from '../account-directory.ts';

export const ACCOUNTS_COLLECTION = 'accounts';

export interface AccountDocument {
  _id: string;
  /** Lower-cased, trimmed: the username. */
  email: string;
  role: AccountRole;
  /** Patient/… for a patient, Practitioner/… for staff; admins may have none. */
  fhirUser?: string;
  /**
   * The people this person may act for, each through the RelatedPerson that links them (a parent
   * of two children has two). A patient may also be someone's proxy.
   */
  proxyFor?: Array<{ relatedPerson: string; patient: string }>;
  name?: string;
  /** argon2id hash (passwords.ts); absent until the person sets one (new staff and admins). */
  passwordHash?: string;
  passwordChangedAt?: Date;
  /** Authenticator app (TOTP), its seed sealed with the SecretBox (second-factor.ts). */
  totp?: { sealedSecret: string; enabledAt: Date; lastTimeStep?: number };
  /** Ten single-use recovery codes, hashed; used ones are kept with their time. */
  recoveryCodes?: Array<{ hash: string; usedAt?: Date }>;
  /** WebAuthn credentials (passkeys.ts). */
  passkeys?: StoredPasskey[];
  createdAt: Date;
  updatedAt: Date;
  disabled?: boolean;
}

export interface StoredPasskey {
  /** Credential id, base64url. */
  id: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports?: string[];
  /** What the person called it ("Phone"), or where it was made. */
  name: string;
  createdAt: Date;
  lastUsedAt?: Date;
}

/** Staff and admins must use a second factor; patients and proxies may. */
export const secondFactorRequired = (role: AccountRole): boolean => role === 'staff' || role === 'admin';

/** Reads FHIR resources the directory needs (names and links), with the server's own rights. */
export type ResourceReader = (type: string, id: string) => Promise<Record<string, unknown> | undefined>;

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

function displayName(resource: Record<string, unknown> | undefined): string {
  const names = resource?.name as Array<{ text?: string; given?: string[]; family?: string }> | undefined;
  const n = names?.[0];
  if (!n) return 'Unnamed';
  return n.text ?? [...(n.given ?? []), n.family].filter(Boolean).join(' ');
}

export class AccountStore implements AccountDirectory {
  readonly accounts: Collection<AccountDocument>;

  constructor(
    db: Db,
    private readonly read: ResourceReader,
  ) {
    this.accounts = db.collection<AccountDocument>(ACCOUNTS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.accounts.createIndex({ email: 1 }, { unique: true, name: 'email' });
    await this.accounts.createIndex({ fhirUser: 1 }, { name: 'fhirUser' });
  }

  async create(fields: {
    email: string;
    role: AccountRole;
    fhirUser?: string;
    proxyFor?: AccountDocument['proxyFor'];
    name?: string;
    passwordHash?: string;
  }): Promise<AccountDocument> {
    const now = new Date();
    const doc: AccountDocument = { _id: randomUUID(), ...fields, email: normaliseEmail(fields.email), createdAt: now, updatedAt: now };
    await this.accounts.insertOne(doc);
    return doc;
  }

  async byEmail(email: string): Promise<AccountDocument | null> {
    return this.accounts.findOne({ email: normaliseEmail(email) });
  }

  async byId(id: string): Promise<AccountDocument | null> {
    return this.accounts.findOne({ _id: id });
  }

  /** The accounts linked to a FHIR resource (a Patient has at most one of its own). */
  async byFhirUser(reference: string): Promise<AccountDocument[]> {
    return this.accounts.find({ fhirUser: reference }).limit(10).toArray();
  }

  async update(id: string, set: Partial<Omit<AccountDocument, '_id' | 'createdAt'>>, unset: Array<keyof AccountDocument> = []): Promise<void> {
    const update: Record<string, unknown> = { $set: { ...set, updatedAt: new Date() } };
    if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((k) => [k, '']));
    await this.accounts.updateOne({ _id: id }, update);
  }

  /** Adds a proxy link (a RelatedPerson for a patient) unless the account has it already. */
  async addProxyLink(id: string, link: { relatedPerson: string; patient: string }): Promise<void> {
    const doc = await this.byId(id);
    if (!doc || (doc.proxyFor ?? []).some((l) => l.relatedPerson === link.relatedPerson)) return;
    await this.update(id, { proxyFor: [...(doc.proxyFor ?? []), link] });
  }

  async find(accountId: string): Promise<AccountInfo | undefined> {
    const doc = await this.byId(accountId);
    if (!doc || doc.disabled) return undefined;
    return { id: doc._id, email: doc.email, role: doc.role, fhirUser: doc.fhirUser, name: doc.name, proxyFor: doc.proxyFor ?? [] };
  }

  async patientsOf(account: AccountInfo): Promise<Array<{ id: string; name: string; birthDate?: string }>> {
    const ids: string[] = [];
    if (account.fhirUser?.startsWith('Patient/')) ids.push(account.fhirUser.slice('Patient/'.length));
    for (const link of account.proxyFor) if (!ids.includes(link.patient)) ids.push(link.patient);
    const out: Array<{ id: string; name: string; birthDate?: string }> = [];
    for (const id of ids) {
      const patient = await this.read('Patient', id);
      if (patient) out.push({ id, name: displayName(patient), birthDate: patient.birthDate as string | undefined });
    }
    return out;
  }
}
