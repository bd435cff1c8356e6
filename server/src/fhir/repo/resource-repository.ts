// Resource storage: current versions, history, optimistic concurrency.
// The database has no multi-document transactions, so every write is ordered so that what a
// reader can see is always a whole version: the current document is swapped first with a
// compare-and-set on its version number (this is what makes concurrent updates safe), then the
// version is appended to history with an idempotent upsert.
// See: https://hl7.org/fhir/R4/http.html#versioning
import { randomUUID } from 'node:crypto';
import type { Collection, Db, Filter } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import { conflict, gone, notFound, preconditionFailed } from '../outcome.ts';
import type { StoredResource } from '../types.ts';
import {
  HISTORY_COLLECTION,
  historyId,
  type CurrentDocument,
  type HistoryDocument,
  type ResourceIndexer,
} from './stored-document.ts';
import { ensureTypeIndexes } from './indexes.ts';

const MAX_CAS_RETRIES = 50;

export type WriteMethod = HistoryDocument['method'];

export interface WriteOptions {
  /** Expected current version (If-Match); a mismatch is 412. */
  ifMatch?: number;
  /** Transaction journal id: marks the written documents until the transaction ends. */
  tx?: string;
  /** Exact version the write must replace (0 = must not exist); set by transactions. */
  expectedVid?: number;
  method?: WriteMethod;
}

export interface UpdateResult {
  stored: StoredResource;
  created: boolean;
}

export interface DeleteResult {
  /** Version number of the deletion tombstone, or undefined when nothing was deleted. */
  versionId?: number;
  /** True when the resource was already deleted. */
  alreadyDeleted: boolean;
}

export interface HistoryQuery {
  type?: string;
  id?: string;
  since?: Date;
  /** Exclusive upper bound for keyset paging: versions strictly older than this one. */
  before?: { ts: Date; key: string };
  count: number;
}

export function toStoredResource(doc: { resource: Resource; vid: number; ts: Date }): StoredResource {
  return { resource: doc.resource as StoredResource['resource'], versionId: doc.vid, lastUpdated: doc.ts };
}

export class ResourceRepository {
  private readonly typesWithIndexes = new Set<string>();
  readonly history: Collection<HistoryDocument>;

  constructor(
    readonly db: Db,
    private readonly indexer: ResourceIndexer,
  ) {
    this.history = db.collection<HistoryDocument>(HISTORY_COLLECTION);
  }

  current(type: string): Collection<CurrentDocument> {
    return this.db.collection<CurrentDocument>(type);
  }

  private async prepareType(type: string): Promise<void> {
    if (this.typesWithIndexes.has(type)) return;
    await ensureTypeIndexes(this.db, type);
    this.typesWithIndexes.add(type);
  }

  /** Builds the stored form of a version: server-owned meta, index fields. */
  buildDocument(resource: Resource, id: string, vid: number, ts: Date, tx?: string): CurrentDocument {
    const meta = { ...(resource.meta ?? {}), versionId: String(vid), lastUpdated: ts.toISOString() };
    // resourceType, id and meta first, as servers conventionally render them.
    const { resourceType, id: _clientId, meta: _clientMeta, ...rest } = resource;
    const ordered = { resourceType, id, meta, ...rest } as Resource;
    const doc: CurrentDocument = { _id: id, vid, ts, resource: ordered, ...this.indexer(ordered) };
    if (tx) doc.tx = tx;
    return doc;
  }

  private async appendHistory(
    type: string,
    id: string,
    vid: number,
    ts: Date,
    method: WriteMethod,
    doc?: CurrentDocument,
    tx?: string,
  ): Promise<void> {
    const entry: HistoryDocument = { _id: historyId(type, id, vid), type, id, vid, ts, method };
    if (doc) {
      entry.resource = doc.resource;
      if (doc.patient) entry.patient = doc.patient;
    }
    if (tx) entry.tx = tx;
    await this.history.replaceOne({ _id: entry._id }, entry, { upsert: true });
  }

  /** Latest version in history (including a deletion tombstone), if the resource ever existed. */
  async latestHistory(type: string, id: string): Promise<HistoryDocument | null> {
    return this.history.find({ type, id }).sort({ vid: -1 }).limit(1).next();
  }

  async read(type: string, id: string): Promise<StoredResource> {
    const doc = await this.current(type).findOne({ _id: id });
    if (doc) return toStoredResource(doc);
    const last = await this.latestHistory(type, id);
    if (last) throw gone(`${type}/${id} was deleted`);
    throw notFound(`${type}/${id} is not known`);
  }

  /** Like read, but answers null for a missing or deleted resource. */
  async find(type: string, id: string): Promise<StoredResource | null> {
    const doc = await this.current(type).findOne({ _id: id });
    return doc ? toStoredResource(doc) : null;
  }

  async vread(type: string, id: string, vid: number): Promise<StoredResource> {
    const entry = await this.history.findOne({ _id: historyId(type, id, vid) });
    if (entry?.resource) return toStoredResource({ resource: entry.resource, vid: entry.vid, ts: entry.ts });
    if (entry) throw gone(`${type}/${id} version ${vid} is a deletion`);
    // The current version is written before its history entry: answer from it in that window.
    const doc = await this.current(type).findOne({ _id: id, vid });
    if (doc) return toStoredResource(doc);
    throw notFound(`${type}/${id} has no version ${vid}`);
  }

  async create(resource: Resource, options: WriteOptions & { id?: string } = {}): Promise<StoredResource> {
    const type = resource.resourceType;
    await this.prepareType(type);
    const id = options.id ?? randomUUID();
    const ts = new Date();
    const doc = this.buildDocument(resource, id, 1, ts, options.tx);
    await this.current(type).insertOne(doc);
    await this.appendHistory(type, id, 1, ts, options.method ?? 'POST', doc, options.tx);
    return toStoredResource(doc);
  }

  /**
   * Update, or create with the client's id when the resource does not exist (update-as-create).
   * Retries on a lost compare-and-set, so parallel updates each land as their own version.
   */
  async update(resource: Resource & { id: string }, options: WriteOptions = {}): Promise<UpdateResult> {
    const type = resource.resourceType;
    const id = resource.id;
    await this.prepareType(type);
    const coll = this.current(type);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const existing = await coll.findOne({ _id: id }, { projection: { vid: 1 } });
      const ts = new Date();
      if (existing) {
        if (options.ifMatch !== undefined && options.ifMatch !== existing.vid) {
          throw preconditionFailed(`${type}/${id} is at version ${existing.vid}, not ${options.ifMatch}`);
        }
        if (options.expectedVid !== undefined && options.expectedVid !== existing.vid) {
          throw conflict(`${type}/${id} changed while the transaction was running`);
        }
        const vid = existing.vid + 1;
        const doc = this.buildDocument(resource, id, vid, ts, options.tx);
        const res = await coll.replaceOne({ _id: id, vid: existing.vid }, doc);
        if (res.matchedCount === 0) continue; // someone else wrote first: read again
        await this.appendHistory(type, id, vid, ts, options.method ?? 'PUT', doc, options.tx);
        return { stored: toStoredResource(doc), created: false };
      }
      if (options.ifMatch !== undefined) {
        throw preconditionFailed(`${type}/${id} does not exist, so it cannot be at version ${options.ifMatch}`);
      }
      const last = await this.latestHistory(type, id);
      const vid = (last?.vid ?? 0) + 1;
      if (options.expectedVid !== undefined && options.expectedVid !== 0) {
        throw conflict(`${type}/${id} changed while the transaction was running`);
      }
      const doc = this.buildDocument(resource, id, vid, ts, options.tx);
      try {
        await coll.insertOne(doc);
      } catch (err) {
        if (isDuplicateKey(err)) continue; // created concurrently: update it instead
        throw err;
      }
      await this.appendHistory(type, id, vid, ts, options.method ?? 'PUT', doc, options.tx);
      return { stored: toStoredResource(doc), created: true };
    }
    throw conflict(`${type}/${id} is being changed by too many writers at once; try again`);
  }

  async delete(type: string, id: string, options: WriteOptions = {}): Promise<DeleteResult> {
    await this.prepareType(type);
    const coll = this.current(type);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const existing = await coll.findOne({ _id: id }, { projection: { vid: 1, patient: 1 } });
      if (!existing) {
        if (options.ifMatch !== undefined) {
          throw preconditionFailed(`${type}/${id} does not exist, so it cannot be at version ${options.ifMatch}`);
        }
        const last = await this.latestHistory(type, id);
        if (!last) throw notFound(`${type}/${id} is not known`);
        return { alreadyDeleted: true };
      }
      if (options.ifMatch !== undefined && options.ifMatch !== existing.vid) {
        throw preconditionFailed(`${type}/${id} is at version ${existing.vid}, not ${options.ifMatch}`);
      }
      if (options.expectedVid !== undefined && options.expectedVid !== existing.vid) {
        throw conflict(`${type}/${id} changed while the transaction was running`);
      }
      const res = await coll.deleteOne({ _id: id, vid: existing.vid });
      if (res.deletedCount === 0) continue;
      const vid = existing.vid + 1;
      await this.appendHistory(type, id, vid, new Date(), 'DELETE', undefined, options.tx);
      return { versionId: vid, alreadyDeleted: false };
    }
    throw conflict(`${type}/${id} is being changed by too many writers at once; try again`);
  }

  /** Versions newest first, keyset-paged on (ts, _id). */
  async historyPage(query: HistoryQuery): Promise<HistoryDocument[]> {
    const filter: Filter<HistoryDocument> = {};
    if (query.type) filter.type = query.type;
    if (query.id) filter.id = query.id;
    const and: Filter<HistoryDocument>[] = [];
    if (query.since) and.push({ ts: { $gt: query.since } });
    if (query.before) {
      and.push({
        $or: [{ ts: { $lt: query.before.ts } }, { ts: query.before.ts, _id: { $lt: query.before.key } }],
      });
    }
    if (and.length) filter.$and = and;
    return this.history.find(filter).sort({ ts: -1, _id: -1 }).limit(query.count).toArray();
  }

  async countHistory(query: Omit<HistoryQuery, 'before' | 'count'>): Promise<number> {
    const filter: Filter<HistoryDocument> = {};
    if (query.type) filter.type = query.type;
    if (query.id) filter.id = query.id;
    if (query.since) filter.ts = { $gt: query.since };
    return this.history.countDocuments(filter);
  }
}

export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}
