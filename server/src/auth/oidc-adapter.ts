// oidc-provider's storage on MongoDB (never its in-memory default): one collection per model,
// shared by every server instance.
// - Ids are stored hashed (SHA-256): a token, code or session id is a bearer secret, so the database
//   holds only what cannot be replayed; the raw value comes back from the caller on every find.
// - Expiry: each record has `expiresAt`; finds ignore expired records (FerretDB 1.x has no TTL
//   indexes), a periodic sweep deletes them, and on MongoDB a TTL index does it too.
// - Access tokens and client-credentials tokens share one collection, so the FHIR API checks any
//   token with one lookup (bearer-tokens.ts), and concurrent lookups are coalesced into one query
//   (coalesced-lookups.ts).
// - Payload keys the local database refuses (a dot: resource indicators, i.e. URLs) are stored
//   escaped (record-keys.ts); only records that have such keys are marked and unescaped on reads.
// See: https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ClientRegistry } from './clients.ts';
import { coalescedLookup } from './coalesced-lookups.ts';
import { escapeKeys, hasAwkwardKeys, unescapeKeys } from './record-keys.ts';

/** The collection of a model: access and client-credentials tokens together. */
export function collectionOf(model: string): string {
  return model === 'AccessToken' || model === 'ClientCredentials' ? 'auth_tokens' : `auth_${model.toLowerCase()}`;
}

export const hashId = (id: string): string => createHash('sha256').update(id).digest('base64url');

export interface StoredRecord {
  _id: string;
  model: string;
  payload: AdapterPayload;
  expiresAt?: Date;
  grantId?: string;
  uid?: string;
  userCode?: string;
  /** Tokens, sessions and grants of one person (ended together when the password changes). */
  accountId?: string;
  /** The payload's keys are stored escaped (record-keys.ts). */
  escapedKeys?: true;
  /**
   * Client-credentials tokens: the Group the client was limited to when the token was issued
   * (null: none), so that the FHIR API need not read the registration on every request. A
   * client's Group is fixed at registration, and removing a client deletes its tokens.
   */
  clientGroup?: string | null;
}

/** The record as oidc-provider wrote it (keys unescaped). */
const asWritten = (doc: StoredRecord): StoredRecord => (doc.escapedKeys ? { ...doc, payload: unescapeKeys(doc.payload) } : doc);

/** A stored record of one of the models (sharing a collection) that has not expired, or null. */
export async function findRecord(db: Db, models: string[], id: string): Promise<StoredRecord | null> {
  const [doc] = await coalescedLookup<StoredRecord>(db, collectionOf(models[0]), '_id').find(hashId(id));
  if (!doc || !models.includes(doc.model)) return null;
  if (doc.expiresAt && doc.expiresAt.getTime() <= Date.now()) return null;
  return asWritten(doc);
}

/**
 * Builds the adapter class oidc-provider instantiates once per model. Clients come from the client
 * registry (clients.ts), read-only here.
 */
export function mongoAdapter(db: Db, clients: ClientRegistry): new (model: string) => Adapter {
  return class MongoAdapter implements Adapter {
    private readonly coll: Collection<StoredRecord>;

    constructor(private readonly model: string) {
      this.coll = db.collection<StoredRecord>(collectionOf(model));
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are registered through the client registry');
      const { jti: _raw, ...rest } = payload;
      const doc: StoredRecord = { _id: hashId(id), model: this.model, payload: rest };
      if (hasAwkwardKeys(rest)) {
        doc.payload = escapeKeys(rest);
        doc.escapedKeys = true;
      }
      if (expiresIn) doc.expiresAt = new Date(Date.now() + expiresIn * 1000);
      if (payload.grantId) doc.grantId = payload.grantId;
      if (payload.uid) doc.uid = payload.uid;
      if (payload.userCode) doc.userCode = payload.userCode;
      if (payload.accountId) doc.accountId = payload.accountId;
      if (this.model === 'ClientCredentials' && typeof payload.clientId === 'string') doc.clientGroup = (await clients.get(payload.clientId))?.group ?? null;
      await this.coll.replaceOne({ _id: doc._id }, doc, { upsert: true });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return (await clients.metadataOf(id)) as AdapterPayload | undefined;
      const doc = await findRecord(db, [this.model], id);
      return doc ? { ...doc.payload, jti: id } : undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const doc = await this.coll.findOne({ uid, model: this.model });
      if (!doc || (doc.expiresAt && doc.expiresAt.getTime() <= Date.now())) return undefined;
      return asWritten(doc).payload;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const doc = await this.coll.findOne({ userCode, model: this.model });
      if (!doc || (doc.expiresAt && doc.expiresAt.getTime() <= Date.now())) return undefined;
      return asWritten(doc).payload;
    }

    async consume(id: string): Promise<void> {
      await this.coll.updateOne({ _id: hashId(id) }, { $set: { 'payload.consumed': Math.floor(Date.now() / 1000) } });
    }

    async destroy(id: string): Promise<void> {
      await this.coll.deleteOne({ _id: hashId(id) });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await this.coll.deleteMany({ grantId });
    }
  };
}

const MODELS = [
  'Session',
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
  'Interaction',
  'ReplayDetection',
  'PushedAuthorizationRequest',
  'Grant',
];

/** Indexes the adapter's queries need; TTL indexes where the database has them. */
export async function ensureAdapterIndexes(db: Db, ttlIndexes: boolean): Promise<void> {
  for (const name of new Set(MODELS.map(collectionOf))) {
    const coll = db.collection(name);
    await coll.createIndex({ grantId: 1 }, { name: 'grantId' });
    await coll.createIndex({ uid: 1 }, { name: 'uid' });
    await coll.createIndex({ accountId: 1 }, { name: 'accountId' });
    if (ttlIndexes) await coll.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 });
  }
}

/** Deletes expired records (the periodic sweep; databases without TTL indexes rely on it). */
export async function sweepExpired(db: Db): Promise<number> {
  let removed = 0;
  for (const name of new Set(MODELS.map(collectionOf))) {
    const res = await db.collection(name).deleteMany({ expiresAt: { $lte: new Date() } });
    removed += res.deletedCount;
  }
  return removed;
}
