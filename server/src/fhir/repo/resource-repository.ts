// Resource storage: current versions, history, optimistic concurrency.
// The database has no multi-document transactions and (on FerretDB) no atomic conditional
// update, so concurrency rests on unique inserts: see claimVersion.
// See: https://hl7.org/fhir/R4/http.html#versioning
import { randomUUID } from 'node:crypto';
import type { Collection, Db, Document, Filter } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import { conflict, gone, notFound, OperationOutcomeError, preconditionFailed, issue } from '../outcome.ts';
import type { StoredResource } from '../types.ts';
import {
  HISTORY_COLLECTION,
  historyId,
  UNVERSIONED_TYPES,
  type CurrentDocument,
  type HistoryDocument,
  type ResourceIndexer,
} from './stored-document.ts';
import { isDuplicateKey, isDuplicateKeyOnly } from '../../db/write-errors.ts';
import { ensureTypeIndexes } from './indexes.ts';
import { assertStorable, isTooLarge } from './stored-size.ts';
import { TransactionVisibility } from './transaction-visibility.ts';

/** How long a claimed version may wait to become current before others take its writer for dead. */
export const CLAIM_TIMEOUT_MS = 10_000;
/** How long one write may keep losing races before it gives up with a 409. */
const WRITE_TIMEOUT_MS = 30_000;

/**
 * Statements per update command. FerretDB 1.24 keeps every statement's query open until the whole
 * command ends (a `defer` in a loop, internal/handler/msg_update.go), so an update command with 100
 * or more statements waits forever for a free SQLite connection.
 */
const UPDATES_PER_COMMAND = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type WriteMethod = HistoryDocument['method'];

export interface WriteOptions {
  /** Expected current version (If-Match); a mismatch is 412. */
  ifMatch?: number;
  /** Transaction journal id: the claimed history entry carries it until the transaction ends. */
  tx?: string;
  /** Exact version the write must replace (0 = must not exist); set by transactions. */
  expectedVid?: number;
  method?: WriteMethod;
}

/** A version claimed by inserting its history entry, not necessarily current yet. */
export interface Claim {
  type: string;
  id: string;
  vid: number;
  entry: HistoryDocument;
  /** The current document the version becomes; undefined for a deletion. */
  doc?: CurrentDocument;
  /** No current document existed when the version was claimed. */
  created: boolean;
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

/** Writes of current documents, in bulk, before they happen (search key hints, see key-hints.ts). */
export type BeforeCurrentWrites = (items: Array<{ type: string; doc: CurrentDocument }>) => Promise<void>;

/** `{_id: id}` and an access condition, as one filter (an _id in the condition goes under $and). */
function withId(id: string, condition: Document | undefined): Filter<CurrentDocument> {
  if (!condition) return { _id: id };
  return ('_id' in condition || '$and' in condition ? { $and: [{ _id: id }, condition] } : { _id: id, ...condition }) as Filter<CurrentDocument>;
}

const NO_PATIENTS: readonly string[] = Object.freeze([]);

/** The patients whose compartments hold a stored document (its partition key fields). */
export function patientsOf(doc: { patient?: string; patients?: string[] }): readonly string[] {
  return doc.patients ?? (doc.patient ? [doc.patient] : NO_PATIENTS);
}

export function toStoredResource(doc: { resource: Resource; vid: number; ts: Date; patient?: string; patients?: string[] }): StoredResource {
  return { resource: doc.resource as StoredResource['resource'], versionId: doc.vid, lastUpdated: doc.ts, patients: patientsOf(doc) };
}

export class ResourceRepository {
  private readonly typesWithIndexes = new Set<string>();
  readonly history: Collection<HistoryDocument>;
  /** What readers may see of running transactions (see transaction-visibility.ts). */
  readonly visibility = new TransactionVisibility();
  /**
   * Whether a transaction's journal is still open, so its claims are not abandoned; set by the
   * transaction journal (repository and journal know each other only through this).
   */
  transactionIsOpen: (txId: string) => Promise<boolean> = async () => false;
  /** Claims whose undo failed (the database was unreachable): retried by settleLeftovers. */
  private readonly leftovers = new Map<string, Claim>();

  constructor(
    readonly db: Db,
    private readonly indexer: ResourceIndexer,
    private readonly beforeCurrentWrites?: BeforeCurrentWrites,
  ) {
    this.history = db.collection<HistoryDocument>(HISTORY_COLLECTION);
  }

  /**
   * Inserts or replaces a current document; every single write of one goes through here (the
   * transaction journal's rollback included) so that beforeCurrentWrites sees them all.
   */
  async putCurrent(type: string, doc: CurrentDocument, mode: 'insert' | 'replace'): Promise<void> {
    await this.beforeCurrentWrites?.([{ type, doc }]);
    if (mode === 'insert') await this.current(type).insertOne(doc);
    else await this.current(type).replaceOne({ _id: doc._id }, doc, { upsert: true });
  }

  current(type: string): Collection<CurrentDocument> {
    return this.db.collection<CurrentDocument>(type);
  }

  async prepareType(type: string): Promise<void> {
    if (this.typesWithIndexes.has(type)) return;
    await ensureTypeIndexes(this.db, type);
    this.typesWithIndexes.add(type);
  }

  /** Builds the stored form of a version: server-owned meta, index fields. */
  buildDocument(resource: Resource, id: string, vid: number, ts: Date): CurrentDocument {
    const meta = { ...(resource.meta ?? {}), versionId: String(vid), lastUpdated: ts.toISOString() };
    // resourceType, id and meta first, as servers conventionally render them.
    const { resourceType, id: _clientId, meta: _clientMeta, ...rest } = resource;
    const ordered = { resourceType, id, meta, ...rest } as Resource;
    return { _id: id, vid, ts, resource: ordered, ...this.indexer(ordered) };
  }

  /** The history entry of a version, and its current document (none for a deletion). */
  private version(type: string, id: string, vid: number, method: WriteMethod, resource: Resource | undefined, tx?: string) {
    const ts = new Date();
    const doc = resource ? this.buildDocument(resource, id, vid, ts) : undefined;
    // Refused before anything is claimed: a version that cannot be stored must leave no trace.
    if (doc) assertStorable(`${type}/${id}`, doc);
    const entry: HistoryDocument = { _id: historyId(type, id, vid), type, id, vid, ts, method };
    if (doc) {
      entry.resource = doc.resource;
      if (doc.patient) entry.patient = doc.patient;
    }
    if (tx) entry.tx = tx;
    return { entry, doc };
  }

  /**
   * The newest version ever claimed for a resource (a deletion tombstone included), or null if it
   * never existed. Only _id lookups: FerretDB's SQLite backend scans the whole collection for any
   * other filter. Versions are numbered 1..n without gaps (an undone claim is always the newest),
   * so the newest is found by probing: exponentially, then by bisection.
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

  /**
   * The current version. With an access condition (access/), a resource the caller may not see
   * answers 404 like one that never existed, deleted ones included (410 would tell it existed).
   */
  async read(type: string, id: string, condition?: Document): Promise<StoredResource> {
    const doc = await this.currentDocument(type, id, condition);
    if (doc) return toStoredResource(doc);
    if (condition) throw notFound(`${type}/${id} is not known`);
    const first = await this.history.findOne({ _id: historyId(type, id, 1) });
    if (first && !this.visibility.isHidden(first.tx)) throw gone(`${type}/${id} was deleted`);
    throw notFound(`${type}/${id} is not known`);
  }

  /** Like read, but answers null for a missing, deleted (or, with a condition, invisible) resource. */
  async find(type: string, id: string, condition?: Document): Promise<StoredResource | null> {
    const doc = await this.currentDocument(type, id, condition);
    return doc ? toStoredResource(doc) : null;
  }

  /** The stored document of the current version (index fields included), if any and visible. */
  async currentDocument(type: string, id: string, condition?: Document): Promise<CurrentDocument | null> {
    await this.visibility.settled(type, id);
    return this.current(type).findOne(withId(id, condition));
  }

  async vread(type: string, id: string, vid: number, condition?: Document): Promise<StoredResource> {
    if (UNVERSIONED_TYPES.has(type)) {
      const doc = await this.current(type).findOne(withId(id, condition));
      if (!doc || doc.vid !== vid) throw notFound(`${type}/${id} has no version ${vid}`);
      return toStoredResource(doc);
    }
    // A restricted caller sees the versions of a resource it sees now.
    if (condition && !(await this.current(type).findOne(withId(id, condition), { projection: { _id: 1 } }))) {
      throw notFound(`${type}/${id} has no version ${vid}`);
    }
    const entry = await this.history.findOne({ _id: historyId(type, id, vid) });
    if (!entry || this.visibility.isHidden(entry.tx)) throw notFound(`${type}/${id} has no version ${vid}`);
    if (entry.resource) return toStoredResource({ resource: entry.resource, vid: entry.vid, ts: entry.ts, patient: entry.patient });
    throw gone(`${type}/${id} version ${vid} is a deletion`);
  }

  async create(resource: Resource, options: WriteOptions & { id?: string } = {}): Promise<StoredResource> {
    const type = resource.resourceType;
    await this.prepareType(type);
    const id = options.id ?? randomUUID();
    const { entry, doc } = this.version(type, id, 1, options.method ?? 'POST', resource, options.tx);
    // A fresh id cannot collide; the history entry still goes first, as for every write.
    await this.history.insertOne(entry);
    const claim: Claim = { type, id, vid: 1, entry, doc, created: true };
    await this.makeCurrent(claim);
    return toStoredResource(doc!);
  }

  /**
   * Stores version 1 of many new resources of one type at once (the audit trail's batches): one
   * bulk insert of their history entries, then one of their current documents. The documents
   * come from buildDocument with fresh ids, so a batch that failed half-way can be stored again
   * as it is: what already landed is a duplicate key and is skipped, nothing is stored twice.
   */
  async insertNew(type: string, docs: CurrentDocument[], method: WriteMethod = 'POST'): Promise<void> {
    if (docs.length === 0) return;
    await this.prepareType(type);
    for (const doc of docs) assertStorable(`${type}/${doc._id}`, doc);
    const entries: HistoryDocument[] = docs.map((doc) => {
      const entry: HistoryDocument = { _id: historyId(type, doc._id, 1), type, id: doc._id, vid: 1, ts: doc.ts, method, resource: doc.resource };
      if (doc.patient) entry.patient = doc.patient;
      return entry;
    });
    if (!UNVERSIONED_TYPES.has(type)) {
      try {
        await this.history.insertMany(entries, { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyOnly(err)) throw err;
      }
    }
    await this.makeAllCurrent(docs.map((doc, i) => ({ type, id: doc._id, vid: 1, entry: entries[i], doc, created: true })));
  }

  /**
   * The claim of version 1 of a resource with a fresh id (a transaction's create), built but not
   * inserted: the transaction journal inserts many at once.
   */
  newClaim(type: string, id: string, resource: Resource, method: WriteMethod, tx: string): Claim {
    const { entry, doc } = this.version(type, id, 1, method, resource, tx);
    return { type, id, vid: 1, entry, doc, created: true };
  }

  /** The claim a history entry stands for (recovery applies the claims of committed transactions). */
  claimFromEntry(entry: HistoryDocument): Claim {
    const doc = entry.resource ? this.buildDocument(entry.resource, entry.id, entry.vid, entry.ts) : undefined;
    return { type: entry.type, id: entry.id, vid: entry.vid, entry, doc, created: false };
  }

  /**
   * Claims the next version of a resource.
   *
   * Conditional updates are not atomic on FerretDB (it reads, then writes by _id), so they
   * cannot serve as compare-and-set. Inserts are: a version is claimed by inserting its history
   * entry, whose _id (Type/id/vid) is unique, and only the writer that inserted it writes the
   * current document. A writer claims version n+1 only after version n is current, so current
   * documents are written in version order. A claim whose writer died before making it current
   * (older than CLAIM_TIMEOUT_MS) is settled by the next writer (see settleClaim); a claim of a
   * transaction still open is waited for.
   */
  async claimVersion(
    type: string,
    id: string,
    options: WriteOptions,
    make: (state: { currentVid?: number; lastVid: number }) => { method: WriteMethod; resource?: Resource } | 'unchanged',
  ): Promise<Claim | 'unchanged'> {
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
        if (last.tx && (await this.transactionIsOpen(last.tx))) await sleep(Math.min(5 + attempt * 5, 50));
        else if (last.tx || Date.now() - last.ts.getTime() > CLAIM_TIMEOUT_MS) await this.settleClaim(last);
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
      const { entry, doc } = this.version(type, id, vid, plan.method, plan.resource, options.tx);
      try {
        await this.history.insertOne(entry);
      } catch (err) {
        if (isDuplicateKey(err)) continue; // another writer claimed this version first
        throw err;
      }
      return { type, id, vid, entry, doc, created: currentVid === undefined };
    }
  }

  /**
   * Makes a claimed version current (deletes the current document for a tombstone). If that
   * fails, the claim is undone, so the resource stays as it was and writable.
   */
  async makeCurrent(claim: Claim): Promise<void> {
    try {
      await this.writeCurrent(claim);
    } catch (err) {
      await this.undoClaim(claim).catch(() => this.leftovers.set(claim.entry._id, claim));
      throw storeError(err, `${claim.type}/${claim.id}`);
    }
  }

  /**
   * The current-document write of a claim. `created` says no current document existed when the
   * version was claimed: an insert is then cheaper than an upsert (a query plus a write on FerretDB).
   */
  private async writeCurrent(claim: Claim): Promise<void> {
    const { type, id, doc } = claim;
    if (!doc) {
      await this.current(type).deleteOne({ _id: id });
      return;
    }
    if (claim.created) {
      try {
        await this.putCurrent(type, doc, 'insert');
        return;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err; // rolled forward by another writer meanwhile
      }
    }
    await this.putCurrent(type, doc, 'replace');
  }

  /**
   * Makes many claims current at once (a transaction's apply step): one bulk write per type and
   * kind. Idempotent, so recovery can run it again after a crash.
   */
  async makeAllCurrent(claims: Claim[], again = false): Promise<void> {
    const byType = new Map<string, Claim[]>();
    for (const c of claims) byType.set(c.type, [...(byType.get(c.type) ?? []), c]);
    await this.beforeCurrentWrites?.(claims.filter((c) => c.doc).map((c) => ({ type: c.type, doc: c.doc! })));
    for (const [type, list] of byType) {
      const coll = this.current(type);
      const inserts = again ? [] : list.filter((c) => c.doc && c.created).map((c) => c.doc!);
      const replaces = list.filter((c) => c.doc && (again || !c.created)).map((c) => c.doc!);
      const deletes = list.filter((c) => !c.doc).map((c) => c.id);
      if (inserts.length > 0) {
        try {
          await coll.insertMany(inserts, { ordered: false });
        } catch (err) {
          if (!isDuplicateKeyOnly(err)) throw err; // already applied by an earlier attempt
        }
      }
      for (let i = 0; i < replaces.length; i += UPDATES_PER_COMMAND) {
        await coll.bulkWrite(
          replaces.slice(i, i + UPDATES_PER_COMMAND).map((doc) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } })),
          { ordered: false },
        );
      }
      if (deletes.length > 0) await coll.deleteMany({ _id: { $in: deletes } });
    }
  }

  /**
   * Removes a claim that did not become current, unless it did after all (a write reported as
   * failed may still have landed) or others may already be rolling it forward.
   */
  async undoClaim(claim: Pick<Claim, 'type' | 'id' | 'vid' | 'entry'>): Promise<void> {
    const current = await this.current(claim.type).findOne({ _id: claim.id }, { projection: { vid: 1 } });
    if ((current?.vid ?? 0) >= claim.vid) return;
    await this.history.deleteOne({ _id: claim.entry._id, ts: claim.entry.ts });
  }

  /**
   * Settles a claim whose writer is gone: a transaction's claim whose journal is closed was never
   * applied (the journal closes only after applying), so it is undone; a single write's claim is
   * rolled forward from its history entry, or undone when it cannot be stored.
   */
  async settleClaim(entry: HistoryDocument): Promise<'forward' | 'back' | 'current'> {
    const claim = this.claimFromEntry(entry);
    const current = await this.current(entry.type).findOne({ _id: entry.id }, { projection: { vid: 1 } });
    if ((current?.vid ?? 0) >= entry.vid) return 'current';
    if (!current && !entry.resource) return 'current'; // a deletion that took place
    // A newer claim exists only if this version was current when it was made.
    if (await this.history.findOne({ _id: historyId(entry.type, entry.id, entry.vid + 1) }, { projection: { _id: 1 } })) return 'current';
    if (entry.tx) {
      await this.history.deleteOne({ _id: entry._id, tx: entry.tx });
      return 'back';
    }
    try {
      await this.writeCurrent(claim);
      return 'forward';
    } catch (err) {
      if (!isPermanent(err)) throw err;
      await this.undoClaim(claim);
      return 'back';
    }
  }

  /** Retries undoing claims whose undo failed earlier (called periodically). */
  async settleLeftovers(): Promise<void> {
    for (const [key, claim] of this.leftovers) {
      await this.undoClaim(claim);
      this.leftovers.delete(key);
    }
  }

  /** Update, or create with the client's id when it does not exist (update-as-create). */
  async update(resource: Resource & { id: string }, options: WriteOptions = {}): Promise<UpdateResult> {
    const claim = await this.claimVersion(resource.resourceType, resource.id, options, () => ({
      method: options.method ?? 'PUT',
      resource,
    }));
    if (claim === 'unchanged' || !claim.doc) throw new Error('update produced no version');
    await this.makeCurrent(claim);
    return { stored: toStoredResource(claim.doc), created: claim.created };
  }

  async delete(type: string, id: string, options: WriteOptions = {}): Promise<DeleteResult> {
    const claim = await this.claimVersion(type, id, options, ({ currentVid, lastVid }) => {
      if (currentVid !== undefined) return { method: 'DELETE' };
      if (lastVid === 0) throw notFound(`${type}/${id} is not known`);
      return 'unchanged';
    });
    if (claim === 'unchanged') return { alreadyDeleted: true };
    await this.makeCurrent(claim);
    return { versionId: claim.vid, alreadyDeleted: false };
  }

  /**
   * Versions of one resource newest first, fetched by _id (fast on every backend).
   * `beforeVid` continues a page: only versions older than it.
   */
  async instanceHistory(type: string, id: string, count: number, since?: Date, beforeVid?: number): Promise<HistoryDocument[]> {
    if (UNVERSIONED_TYPES.has(type)) {
      const doc = await this.current(type).findOne({ _id: id });
      const entry = doc && asHistoryEntry(type, doc);
      return entry && count > 0 && (!since || entry.ts > since) && (beforeVid === undefined || entry.vid < beforeVid) ? [entry] : [];
    }
    const newest = await this.countVersions(type, id);
    const top = Math.min(newest, beforeVid !== undefined ? beforeVid - 1 : newest);
    const vids = Array.from({ length: Math.max(0, Math.min(count, top)) }, (_, i) => top - i);
    const docs = await Promise.all(vids.map((vid) => this.history.findOne({ _id: historyId(type, id, vid) })));
    return docs.filter((d): d is HistoryDocument => d !== null && (!since || d.ts > since));
  }

  /** Number of versions of one resource readers may see (versions are numbered without gaps). */
  async countVersions(type: string, id: string): Promise<number> {
    if (UNVERSIONED_TYPES.has(type)) return (await this.current(type).findOne({ _id: id }, { projection: { vid: 1 } }))?.vid ?? 0;
    const current = await this.current(type).findOne({ _id: id }, { projection: { vid: 1 } });
    const latest = await this.latestVersion(type, id, current?.vid ?? 0);
    if (!latest) return 0;
    // A running transaction claims at most one version of each resource: the newest.
    return this.visibility.isHidden(latest.tx) ? latest.vid - 1 : latest.vid;
  }

  /** Versions newest first, keyset-paged on (ts, _id); `condition` restricts the entries (access). */
  async historyPage(query: HistoryQuery, condition?: Document): Promise<HistoryDocument[]> {
    if (query.type && UNVERSIONED_TYPES.has(query.type)) return this.unversionedPage(query.type, query, condition);
    const filter = this.historyFilter(query);
    if (condition) Object.assign(filter, { $and: [...((filter.$and as Filter<HistoryDocument>[]) ?? []), condition] });
    const and: Filter<HistoryDocument>[] = [];
    if (query.since) and.push({ ts: { $gt: query.since } });
    if (query.before) {
      and.push({
        $or: [{ ts: { $lt: query.before.ts } }, { ts: query.before.ts, _id: { $lt: query.before.key } }],
      });
    }
    if (and.length) filter.$and = [...((filter.$and as Filter<HistoryDocument>[]) ?? []), ...and];
    return this.history.find(filter).sort({ ts: -1, _id: -1 }).limit(query.count).toArray();
  }

  async countHistory(query: Omit<HistoryQuery, 'before' | 'count'>, condition?: Document): Promise<number> {
    if (query.type && UNVERSIONED_TYPES.has(query.type)) {
      const and: Document[] = [condition, query.since && { ts: { $gt: query.since } }].filter((c): c is Document => Boolean(c));
      return this.current(query.type).countDocuments(and.length ? { $and: and } : {});
    }
    const filter = this.historyFilter(query);
    if (query.since) filter.ts = { $gt: query.since };
    if (condition) filter.$and = [condition];
    return this.history.countDocuments(filter);
  }

  /** The type history of an unversioned type: its current documents, newest first, on the same keyset. */
  private async unversionedPage(type: string, query: HistoryQuery, condition?: Document): Promise<HistoryDocument[]> {
    const and: Document[] = [];
    if (condition) and.push(condition);
    if (query.since) and.push({ ts: { $gt: query.since } });
    if (query.before) {
      // History cursors name entries Type/id/vid; the current document's _id is the id.
      const id = query.before.key.split('/')[1] ?? '';
      and.push({ $or: [{ ts: { $lt: query.before.ts } }, { ts: query.before.ts, _id: { $lt: id } }] });
    }
    const docs = await this.current(type).find(and.length ? { $and: and } : {}).sort({ ts: -1, _id: -1 }).limit(query.count).toArray();
    return docs.map((doc) => asHistoryEntry(type, doc));
  }

  /** Type/id scope of a history query, without the entries of running transactions. */
  private historyFilter(query: { type?: string; id?: string }): Filter<HistoryDocument> {
    const filter: Filter<HistoryDocument> = {};
    if (query.type) filter.type = query.type;
    if (query.id) filter.id = query.id;
    const hidden = this.visibility.hiddenTransactions();
    if (hidden.length > 0) filter.tx = { $nin: hidden };
    return filter;
  }
}

/** The history entry an unversioned resource's current document stands for (its version 1). */
function asHistoryEntry(type: string, doc: CurrentDocument): HistoryDocument {
  const entry: HistoryDocument = { _id: historyId(type, doc._id, doc.vid), type, id: doc._id, vid: doc.vid, ts: doc.ts, method: 'POST', resource: doc.resource };
  if (doc.patient) entry.patient = doc.patient;
  return entry;
}

/** A refusal that repeating the same write cannot change (as opposed to a lost connection). */
function isPermanent(err: unknown): boolean {
  return isTooLarge(err) || isDuplicateKey(err) || (typeof (err as { code?: unknown })?.code === 'number' && !isTransient(err));
}

function isTransient(err: unknown): boolean {
  const labels = (err as { errorLabels?: unknown })?.errorLabels;
  const name = (err as { name?: string })?.name ?? '';
  return (Array.isArray(labels) && labels.includes('RetryableWriteError')) || /Network|ServerSelection|PoolCleared|Timeout/.test(name);
}

/** The error a client gets for a current-document write the database refused. */
function storeError(err: unknown, what: string): unknown {
  if (err instanceof OperationOutcomeError) return err;
  if (isTooLarge(err)) {
    return new OperationOutcomeError(413, [issue('error', 'too-long', `${what} cannot be stored: the database stores at most 16 MiB per resource`)]);
  }
  if (isDuplicateKey(err)) {
    return new OperationOutcomeError(409, [issue('error', 'duplicate', `${what} conflicts with a unique constraint of the database; nothing was changed`)]);
  }
  return err;
}
