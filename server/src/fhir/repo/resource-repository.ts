// Resource storage: current versions, history, optimistic concurrency.
// The database has no multi-document transactions and (on FerretDB) no atomic conditional
// update, so concurrency rests on unique inserts: see writeVersion.
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

/** How long a claimed version may wait to become current before others take its writer for dead. */
const CLAIM_TIMEOUT_MS = 10_000;
/** How long one write may keep losing races before it gives up with a 409. */
const WRITE_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    /** Runs before every write of a current document (search key hints, see key-hints.ts). */
    private readonly beforeCurrentWrite?: (type: string, doc: CurrentDocument) => Promise<void>,
  ) {
    this.history = db.collection<HistoryDocument>(HISTORY_COLLECTION);
  }

  /**
   * Inserts or replaces a current document; every write of one goes through here (the
   * transaction journal's rollback included) so that beforeCurrentWrite sees them all.
   */
  async putCurrent(type: string, doc: CurrentDocument, mode: 'insert' | 'replace'): Promise<void> {
    await this.beforeCurrentWrite?.(type, doc);
    if (mode === 'insert') await this.current(type).insertOne(doc);
    else await this.current(type).replaceOne({ _id: doc._id }, doc, { upsert: true });
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

  private historyEntry(
    type: string,
    id: string,
    vid: number,
    ts: Date,
    method: WriteMethod,
    doc?: CurrentDocument,
    tx?: string,
  ): HistoryDocument {
    const entry: HistoryDocument = { _id: historyId(type, id, vid), type, id, vid, ts, method };
    if (doc) {
      entry.resource = doc.resource;
      if (doc.patient) entry.patient = doc.patient;
    }
    if (tx) entry.tx = tx;
    return entry;
  }

  /**
   * The newest version ever claimed for a resource (a deletion tombstone included), or null if it
   * never existed. Only _id lookups: FerretDB's SQLite backend scans the whole collection for any
   * other filter. Versions are numbered 1..n without gaps (a rolled-back transaction removes only
   * the newest), so the newest is found by probing: exponentially, then by bisection.
   */
  async latestVersion(type: string, id: string, knownVid = 0): Promise<HistoryDocument | null> {
    const probe = (vid: number) => this.history.findOne({ _id: historyId(type, id, vid) });
    let lo = knownVid;
    let loDoc: HistoryDocument | null = null;
    if (lo > 0) loDoc = await probe(lo);
    let step = 1;
    let hi = lo + step;
    let hiDoc = await probe(hi);
    while (hiDoc) {
      lo = hi;
      loDoc = hiDoc;
      step *= 2;
      hi = lo + step;
      hiDoc = await probe(hi);
    }
    // lo exists (or is 0), hi does not: bisect between them.
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const doc = await probe(mid);
      if (doc) {
        lo = mid;
        loDoc = doc;
      } else {
        hi = mid;
      }
    }
    return lo === 0 ? null : loDoc;
  }

  async read(type: string, id: string): Promise<StoredResource> {
    const doc = await this.current(type).findOne({ _id: id });
    if (doc) return toStoredResource(doc);
    if (await this.history.findOne({ _id: historyId(type, id, 1) })) throw gone(`${type}/${id} was deleted`);
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
    throw notFound(`${type}/${id} has no version ${vid}`);
  }

  async create(resource: Resource, options: WriteOptions & { id?: string } = {}): Promise<StoredResource> {
    const type = resource.resourceType;
    await this.prepareType(type);
    const id = options.id ?? randomUUID();
    const ts = new Date();
    const doc = this.buildDocument(resource, id, 1, ts, options.tx);
    // A fresh id cannot collide; the history entry still goes first, as for every write.
    await this.history.insertOne(this.historyEntry(type, id, 1, ts, options.method ?? 'POST', doc, options.tx));
    await this.putCurrent(type, doc, 'insert');
    return toStoredResource(doc);
  }

  /**
   * Claims the next version of a resource, then makes it current.
   *
   * Conditional updates are not atomic on FerretDB (it reads, then writes by _id), so they
   * cannot serve as compare-and-set. Inserts are: a version is claimed by inserting its history
   * entry, whose _id (Type/id/vid) is unique, and only the writer that inserted it writes the
   * current document. A writer claims version n+1 only after version n is current, so current
   * documents are written in version order. A claim whose writer died before making it current
   * (older than CLAIM_TIMEOUT_MS) is rolled forward from its history entry by the next writer.
   */
  private async writeVersion(
    type: string,
    id: string,
    options: WriteOptions,
    make: (state: { currentVid?: number; lastVid: number }) =>
      | { method: WriteMethod; resource?: Resource }
      | 'unchanged',
  ): Promise<{ doc?: CurrentDocument; vid: number; created: boolean } | 'unchanged'> {
    await this.prepareType(type);
    const coll = this.current(type);
    const deadline = Date.now() + WRITE_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) throw conflict(`${type}/${id} is being changed by too many writers at once; try again`);
      const existing = await coll.findOne({ _id: id }, { projection: { vid: 1 } });
      // Settled: the newest claimed version is the current one (or a deletion, or nothing).
      let last: HistoryDocument | null;
      let settled: boolean;
      if (existing) {
        const ahead = await this.history.findOne({ _id: historyId(type, id, existing.vid + 1) });
        last = ahead;
        settled = !ahead;
      } else {
        last = await this.latestVersion(type, id);
        settled = !last || !last.resource;
      }
      const lastVid = existing && settled ? existing.vid : (last?.vid ?? 0);
      if (!settled && last) {
        // Another writer claimed a version and has not made it current yet.
        if (Date.now() - last.ts.getTime() > CLAIM_TIMEOUT_MS) await this.rollForward(last);
        else await sleep(Math.min(2 + attempt * 2, 25));
        continue;
      }
      const currentVid = existing?.vid;
      if (options.ifMatch !== undefined && options.ifMatch !== currentVid) {
        throw preconditionFailed(
          currentVid === undefined
            ? `${type}/${id} does not exist, so it cannot be at version ${options.ifMatch}`
            : `${type}/${id} is at version ${currentVid}, not ${options.ifMatch}`,
        );
      }
      if (options.expectedVid !== undefined && options.expectedVid !== (currentVid ?? 0)) {
        throw conflict(`${type}/${id} changed while the transaction was running`);
      }
      const plan = make({ currentVid, lastVid });
      if (plan === 'unchanged') return 'unchanged';
      const vid = lastVid + 1;
      const ts = new Date();
      const doc = plan.resource ? this.buildDocument(plan.resource, id, vid, ts, options.tx) : undefined;
      try {
        await this.history.insertOne(this.historyEntry(type, id, vid, ts, plan.method, doc, options.tx));
      } catch (err) {
        if (isDuplicateKey(err)) continue; // another writer claimed this version first
        throw err;
      }
      await this.makeCurrent(type, id, doc, currentVid === undefined);
      return { doc, vid, created: currentVid === undefined };
    }
  }

  /**
   * Sets the current document to a claimed version (deletes it for a tombstone). `fresh` says no
   * current document existed when the version was claimed: an insert is then cheaper than an
   * upsert (which is a query plus a write on FerretDB).
   */
  private async makeCurrent(type: string, id: string, doc: CurrentDocument | undefined, fresh = false): Promise<void> {
    if (!doc) {
      await this.current(type).deleteOne({ _id: id });
      return;
    }
    if (fresh) {
      try {
        await this.putCurrent(type, doc, 'insert');
        return;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err; // rolled forward by another writer meanwhile
      }
    }
    await this.putCurrent(type, doc, 'replace');
  }

  /** Completes a version whose writer died after claiming it. Idempotent. */
  private async rollForward(entry: HistoryDocument): Promise<void> {
    const doc = entry.resource ? this.buildDocument(entry.resource, entry.id, entry.vid, entry.ts, entry.tx) : undefined;
    await this.makeCurrent(entry.type, entry.id, doc);
  }

  /** Update, or create with the client's id when it does not exist (update-as-create). */
  async update(resource: Resource & { id: string }, options: WriteOptions = {}): Promise<UpdateResult> {
    const result = await this.writeVersion(resource.resourceType, resource.id, options, () => ({
      method: options.method ?? 'PUT',
      resource,
    }));
    if (result === 'unchanged' || !result.doc) throw new Error('update produced no version');
    return { stored: toStoredResource(result.doc), created: result.created };
  }

  async delete(type: string, id: string, options: WriteOptions = {}): Promise<DeleteResult> {
    const result = await this.writeVersion(type, id, options, ({ currentVid, lastVid }) => {
      if (currentVid !== undefined) return { method: 'DELETE' };
      if (lastVid === 0) throw notFound(`${type}/${id} is not known`);
      return 'unchanged';
    });
    if (result === 'unchanged') return { alreadyDeleted: true };
    return { versionId: result.vid, alreadyDeleted: false };
  }

  /**
   * Versions of one resource newest first, fetched by _id (fast on every backend).
   * `beforeVid` continues a page: only versions older than it.
   */
  async instanceHistory(type: string, id: string, count: number, since?: Date, beforeVid?: number): Promise<HistoryDocument[]> {
    const current = await this.current(type).findOne({ _id: id }, { projection: { vid: 1 } });
    const newest = (await this.latestVersion(type, id, current?.vid ?? 0))?.vid ?? 0;
    const top = Math.min(newest, beforeVid !== undefined ? beforeVid - 1 : newest);
    const vids = Array.from({ length: Math.max(0, Math.min(count, top)) }, (_, i) => top - i);
    const docs = await Promise.all(vids.map((vid) => this.history.findOne({ _id: historyId(type, id, vid) })));
    return docs.filter((d): d is HistoryDocument => d !== null && (!since || d.ts > since));
  }

  /** Number of versions of one resource (versions are numbered without gaps). */
  async countVersions(type: string, id: string): Promise<number> {
    const current = await this.current(type).findOne({ _id: id }, { projection: { vid: 1 } });
    return (await this.latestVersion(type, id, current?.vid ?? 0))?.vid ?? 0;
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
