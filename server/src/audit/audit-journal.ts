// The audit journal: one document per flushed batch of audit records, written in one insert on
// the request path's behalf (durable at once, a few µs of database work per access), and turned
// into searchable AuditEvents later by the materializer (audit-materializer.ts).
//
// Several servers share one database and any of them may stop at any moment, and FerretDB 1.x
// has neither transactions nor TTL indexes. So a materializer claims a document with a lease (one
// atomic findOneAndUpdate on `claimedUntil`), writes its AuditEvents under ids derived from the
// document (a second attempt replaces nothing and duplicates nothing), and only then deletes it.
// A document whose lease ran out is claimed again by anyone.
//
// Each journal document has a small claim entry of its own (`audit_journal_claims`: when it was
// written, until when it is claimed, by whom): finding the oldest claimable document filters and
// sorts on fields FerretDB cannot use an index for, so it decodes every document it looks at
// (measured: 30 ms for 50 documents of 90 records, 1 ms for their claim entries). The records are
// read by _id once claimed. The entry is written after its document and deleted after it, so an
// entry without its document is one whose work was done (removed when next claimed).
//
// The records are stored as one BSON blob: FerretDB converts every field of a stored document to
// its JSON format, which for a batch of records as nested documents cost about 0.1 ms of database
// CPU per record (a tenth of what a read costs it); one binary field costs next to nothing.
import { BSON, Binary, type Collection, type Db } from 'mongodb';
import type { AuditRecord } from './audit-record.ts';

/** The journal documents: a batch's records. */
export const AUDIT_JOURNAL_COLLECTION = 'audit_journal';
/** Their claim entries: one per journal document still to be materialized. */
export const AUDIT_CLAIMS_COLLECTION = 'audit_journal_claims';

export interface JournalDocument {
  /** A random UUID; the AuditEvents' ids are derived from it (audit-event-ids.ts). */
  _id: string;
  /** When the batch was written (its oldest record is a flush interval older at most). */
  at: Date;
  records: AuditRecord[];
  /** Until when its claimer may work on it undisturbed; the epoch while unclaimed. */
  claimedUntil: Date;
  /** The server that claimed it last (for the logs). */
  owner?: string;
}

/** What the trail and the materializer do with the journal (the collection, or a stand-in in unit tests). */
export interface AuditJournalStore {
  /** Stores a batch; a second append of the same document (a retry of a write that landed) is no error. */
  append(doc: JournalDocument): Promise<void>;
  /** Claims the oldest document that is unclaimed or whose lease ran out (written at or before `upTo`, when given). */
  claim(owner: string, leaseMs: number, upTo?: Date): Promise<JournalDocument | undefined>;
  /** Gives a claimed document back to anyone (a server stopping in the middle of it). */
  release(id: string, owner: string): Promise<void>;
  /** Removes a document whose AuditEvents are all written. */
  remove(id: string): Promise<void>;
  /** The oldest document written at or before `upTo` (claimed or not), to know whether anything is still pending. */
  oldest(upTo?: Date): Promise<Pick<JournalDocument, '_id' | 'at' | 'claimedUntil'> | undefined>;
}

const UNCLAIMED = new Date(0);

type ClaimEntry = Pick<JournalDocument, '_id' | 'at' | 'claimedUntil' | 'owner'>;
/** A journal document as stored: its records serialised together. */
interface StoredRecords {
  _id: string;
  records: Binary;
}

const isDuplicateKey = (err: unknown) => (err as { code?: number }).code === 11000;

export class AuditJournal implements AuditJournalStore {
  private readonly docs: Collection<StoredRecords>;
  private readonly claims: Collection<ClaimEntry>;

  constructor(db: Db) {
    this.docs = db.collection(AUDIT_JOURNAL_COLLECTION);
    this.claims = db.collection(AUDIT_CLAIMS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.claims.createIndex({ at: 1 });
  }

  async append(doc: JournalDocument): Promise<void> {
    // A write reported as failed may have landed: its retry finds it there.
    try {
      // Records leave out absent fields (BSON would store undefined as null).
      await this.docs.insertOne({ _id: doc._id, records: new Binary(BSON.serialize({ records: doc.records }, { ignoreUndefined: true })) });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    try {
      const entry: ClaimEntry = { _id: doc._id, at: doc.at, claimedUntil: doc.claimedUntil };
      if (doc.owner) entry.owner = doc.owner;
      await this.claims.insertOne(entry);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  async claim(owner: string, leaseMs: number, upTo?: Date): Promise<JournalDocument | undefined> {
    for (;;) {
      const now = new Date();
      const filter = upTo ? { claimedUntil: { $lt: now }, at: { $lte: upTo } } : { claimedUntil: { $lt: now } };
      const entry = await this.claims.findOneAndUpdate(filter, { $set: { claimedUntil: new Date(now.getTime() + leaseMs), owner } }, { sort: { at: 1 }, returnDocument: 'after' });
      if (!entry) return undefined;
      const doc = await this.docs.findOne({ _id: entry._id });
      if (doc) return { ...entry, records: (BSON.deserialize(doc.records.buffer) as { records: AuditRecord[] }).records };
      // Its claimer stopped between deleting the document and its entry: the work is done.
      await this.claims.deleteOne({ _id: entry._id });
    }
  }

  async release(id: string, owner: string): Promise<void> {
    await this.claims.updateOne({ _id: id, owner }, { $set: { claimedUntil: UNCLAIMED } });
  }

  async remove(id: string): Promise<void> {
    await this.docs.deleteOne({ _id: id });
    await this.claims.deleteOne({ _id: id });
  }

  async oldest(upTo?: Date): Promise<Pick<JournalDocument, '_id' | 'at' | 'claimedUntil'> | undefined> {
    const entry = await this.claims.findOne(upTo ? { at: { $lte: upTo } } : {}, { sort: { at: 1 }, projection: { _id: 1, at: 1, claimedUntil: 1 } });
    return entry ?? undefined;
  }
}

/** A new, unclaimed journal document. */
export const journalDocument = (id: string, records: AuditRecord[]): JournalDocument => ({ _id: id, at: new Date(), records, claimedUntil: UNCLAIMED });
