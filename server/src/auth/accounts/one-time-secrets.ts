// Single-use secrets handed to a person: activation codes (staff issue them, typed at
// registration), invitation links (patient and proxy registration), password-reset and
// set-password links, WebAuthn challenges. Only a hash is stored; the secret is shown or mailed
// once. Using one is atomic (first use wins); expired ones are ignored on read and swept.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Collection, Db } from 'mongodb';

export const ONE_TIME_SECRETS_COLLECTION = 'auth_one_time_secrets';

export type SecretKind = 'activation-code' | 'patient-invitation' | 'proxy-invitation' | 'password-reset' | 'set-password' | 'webauthn-challenge';

export interface SecretData {
  /** Patient id (activation codes and invitations). */
  patient?: string;
  /** RelatedPerson id (proxy invitations). */
  relatedPerson?: string;
  /** The account a reset or set-password link is for. */
  accountId?: string;
  /** The address an invitation or link was sent to. */
  email?: string;
  /** Who issued it (account id). */
  issuedBy?: string;
  /** WebAuthn challenge and what it is for. */
  challenge?: string;
  purpose?: string;
}

interface SecretDocument {
  _id: string;
  kind: SecretKind;
  data: SecretData;
  createdAt: Date;
  expiresAt: Date;
  usedAt?: Date;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

/** Letters and digits that cannot be mistaken for one another when typed from paper (no 0/O, 1/I/L). */
const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** An activation code: 15 characters in groups of five (about 74 bits), easy to read out and type. */
export function newActivationCode(): string {
  let code = '';
  for (let i = 0; i < 15; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code.match(/.{5}/g)!.join('-');
}

/** How a typed code is compared: case, spaces and dashes do not matter. */
export const normaliseCode = (typed: string): string =>
  typed
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/.{5}(?=.)/g, '$&-');

export class OneTimeSecrets {
  private readonly secrets: Collection<SecretDocument>;

  constructor(db: Db) {
    this.secrets = db.collection<SecretDocument>(ONE_TIME_SECRETS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.secrets.createIndex({ kind: 1, 'data.patient': 1 }, { name: 'kind_patient' });
  }

  /** Stores a new secret (a random link token unless `secret` is given) and returns it, once. */
  async issue(kind: SecretKind, data: SecretData, ttlMs: number, secret = randomBytes(32).toString('base64url')): Promise<{ secret: string; expiresAt: Date }> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlMs);
    await this.secrets.insertOne({ _id: hashSecret(secret), kind, data, createdAt: now, expiresAt });
    return { secret, expiresAt };
  }

  /** The data of a usable secret of this kind, without using it (to show the form it opens). */
  async peek(kind: SecretKind, secret: string): Promise<SecretData | undefined> {
    const doc = await this.secrets.findOne({ _id: hashSecret(secret), kind });
    if (!doc || doc.usedAt || doc.expiresAt.getTime() <= Date.now()) return undefined;
    return doc.data;
  }

  /** Uses a secret: its data the first time, undefined after that or when expired or unknown. */
  async use(kind: SecretKind, secret: string): Promise<SecretData | undefined> {
    const now = new Date();
    const doc = await this.secrets.findOneAndUpdate(
      { _id: hashSecret(secret), kind, usedAt: { $exists: false }, expiresAt: { $gt: now } },
      { $set: { usedAt: now } },
      { returnDocument: 'after' },
    );
    return doc?.data;
  }

  /** Gives a used secret back (the step it was used for failed before anything changed). */
  async release(kind: SecretKind, secret: string): Promise<void> {
    await this.secrets.updateOne({ _id: hashSecret(secret), kind }, { $unset: { usedAt: '' } });
  }

  /** Withdraws every unused secret of a kind for a patient or account (a new code replaces the old). */
  async withdraw(kind: SecretKind, match: { patient?: string; accountId?: string }): Promise<void> {
    const filter: Record<string, unknown> = { kind, usedAt: { $exists: false } };
    if (match.patient) filter['data.patient'] = match.patient;
    if (match.accountId) filter['data.accountId'] = match.accountId;
    await this.secrets.updateMany(filter, { $set: { usedAt: new Date() } });
  }

  async sweep(): Promise<void> {
    // Used secrets stay a day, so that a second click on a link says "already used", then go.
    await this.secrets.deleteMany({ expiresAt: { $lte: new Date(Date.now() - 24 * 60 * 60_000) } });
  }
}
