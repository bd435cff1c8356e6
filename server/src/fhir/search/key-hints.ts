// Lookup keys for databases without multikey indexes.
//
// Staff look patients up by name, birth date, MRN and phone all day, and integrators by
// identifier. Each of those matches an array of index values, which MongoDB answers from a
// multikey index; FerretDB's SQLite backend has no such index and checks every document of the
// type (3.4 s for `Patient?name=rossi` at 8,000 patients, growing with the data). On such
// databases the server keeps, beside the documents, one tiny document per keyed value, whose _id
// is the key ("Patient.name rossi 123", see lookup-keys.ts), and narrows those searches to the
// resources the keys name (`_id: {$in: [...]}`) before the exact condition.
//
// Keys are hints, never the answer: the exact condition on the documents still decides, so a stale
// key (a resource since changed or deleted) costs nothing but a candidate. What must never happen
// is a missing key, so keys are written before the document that carries them, by every path that
// writes current documents (create, update, roll-forward, transaction rollback, reindex), and the
// keys of documents written before this existed are built once at start-up. Stale keys are never
// deleted: no delete could be ordered safely against a concurrent write that re-adds the key, and
// they are rare (a name or number changed, a resource deleted) and harmless.
import type { Db, Document } from 'mongodb';
import { findBounded } from '../../db/bounded-find.ts';
import { isDuplicateKeyOnly } from '../../db/write-errors.ts';
import { documentKeys, KEYED_PARAMS, type KeyRange } from './lookup-keys.ts';
import { compactKeyRange, distinctValues, idsOf, type KeyDocument } from './key-compaction.ts';
import { isResourceType, searchParamRegistry, type SearchParamRegistry } from './registry.ts';

export const KEY_HINTS_COLLECTION = 'search_keys';
/**
 * Marks a database whose keys are complete (written once, after the start-up build). The version
 * is that of the key format: a database with keys of another format builds them again.
 */
const BUILT_MARKER = '#built-v2';
/** Key ranges looked up in one query (the local database pushes down an $or of up to 100). */
const RANGES_PER_QUERY = 100;
/** A range read whose key documents merged would be this many fewer has them merged (key-compaction.ts). */
const COMPACT_GAIN = 32;

export type { KeyDocument };

export interface KeyedResource {
  type: string;
  id: string;
  sp: Record<string, unknown> | undefined;
}

export class KeyHints {
  private readonly keys;
  /** Ranges waiting for or under compaction, and the chain that runs them one at a time. */
  private readonly compacting = new Set<string>();
  private compactions: Promise<void> = Promise.resolve();

  constructor(
    readonly db: Db,
    private readonly registry: SearchParamRegistry = searchParamRegistry(),
  ) {
    this.keys = db.collection<KeyDocument>(KEY_HINTS_COLLECTION);
  }

  /** Records the keys of a document before it is written. Idempotent. */
  record(type: string, id: string, sp: Record<string, unknown> | undefined): Promise<void> {
    return this.recordAll([{ type, id, sp }]);
  }

  /** Records the keys of several documents (bulk loads, the start-up build). Idempotent. */
  async recordAll(items: KeyedResource[]): Promise<void> {
    const docs = items.flatMap(({ type, id, sp }) => documentKeys(this.registry, type, id, sp).map((_id) => ({ _id })));
    if (docs.length === 0) return;
    try {
      await this.keys.insertMany(docs, { ordered: false });
    } catch (err) {
      if (!isDuplicateKeyOnly(err)) throw err; // keys the resource already had
    }
  }

  /**
   * Ids of the resources that have a key in one of the ranges, sorted; undefined when more than
   * `max` keys are in them (then narrowing by them costs more than it saves). maxTimeMS: the
   * search's time budget left.
   */
  async candidates(ranges: KeyRange[], max: number, maxTimeMS?: number): Promise<string[] | undefined> {
    const found: string[] = [];
    let read = 0;
    for (let i = 0; i < ranges.length; i += RANGES_PER_QUERY) {
      const group = ranges.slice(i, i + RANGES_PER_QUERY);
      const filters = group.map((r) => ({ _id: { $gte: r.gte, $lt: r.lt } }));
      const docs = await findBounded<KeyDocument>(this.db, KEY_HINTS_COLLECTION, {
        filter: filters.length === 1 ? filters[0] : { $or: filters },
        limit: max + 1 - read,
        maxTimeMS,
      });
      read += docs.length;
      if (read > max) {
        // Too many to narrow by, and the documents not read would be missing; merged, the
        // keys may be few enough next time.
        if (docs.length - distinctValues(docs) >= COMPACT_GAIN) for (const r of group) this.compactLater(r);
        return undefined;
      }
      for (const d of docs) found.push(...idsOf(d));
      if (found.length > max && new Set(found).size > max) return undefined;
      if (docs.length - distinctValues(docs) >= COMPACT_GAIN) for (const r of group) this.compactLater(r);
    }
    // Merged keys hold sorted runs, which the sort merges; then each id once.
    found.sort();
    return found.filter((id, i) => i === 0 || id !== found[i - 1]);
  }

  /** Merges the range's keys in the background (see key-compaction.ts); errors only cost the gain. */
  private compactLater(range: KeyRange): void {
    const name = `${range.gte}\n${range.lt}`;
    if (this.compacting.has(name)) return;
    this.compacting.add(name);
    this.compactions = this.compactions
      .then(() => compactKeyRange(this.keys, range))
      .catch(() => undefined)
      .finally(() => this.compacting.delete(name));
  }

  /** Resolves when the compactions asked for so far have run. */
  compacted(): Promise<void> {
    return this.compactions;
  }

  /**
   * Makes the keys complete: unless done before, replaces keys of an older format and records
   * the keys of every stored resource of the types with keyed parameters. Returns how many
   * resources it went through.
   */
  async build(): Promise<number> {
    if (await this.keys.findOne({ _id: BUILT_MARKER })) return 0;
    // The first format ({_id: "Patient/1 Patient.identifier sc:…", k, r}, indexed on k).
    await this.keys.deleteMany({ k: { $exists: true } } as Document);
    const indexes = await this.keys.listIndexes().toArray().catch(() => []);
    if (indexes.some((i: Document) => i.name === 'k')) await this.keys.dropIndex('k');

    const types = (await this.db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((t) => isResourceType(t) && KEYED_PARAMS.some((p) => this.registry.get(t, p)));
    const projection: Document = { _id: 1 };
    for (const p of KEYED_PARAMS) projection[`sp.${p}`] = 1;
    let n = 0;
    for (const type of types) {
      let batch: KeyedResource[] = [];
      for await (const doc of this.db.collection(type).find({}, { projection })) {
        batch.push({ type, id: String(doc._id), sp: doc.sp as Record<string, unknown> | undefined });
        n++;
        if (batch.length >= 500) {
          await this.recordAll(batch);
          batch = [];
        }
      }
      await this.recordAll(batch);
    }
    await this.keys.updateOne({ _id: BUILT_MARKER }, { $set: { at: new Date() } } as Document, { upsert: true });
    return n;
  }
}

/**
 * Forgets that the keys are complete: a server that writes without keeping them (hints turned
 * off) calls this, so that one keeping them later builds them again.
 */
export async function forgetKeyHints(db: Db): Promise<void> {
  await db.collection<KeyDocument>(KEY_HINTS_COLLECTION).deleteOne({ _id: BUILT_MARKER });
}

/**
 * Whether the database needs key hints: `auto` turns them on for FerretDB (its buildInfo names
 * it), off for MongoDB, which has multikey indexes.
 */
export async function wantsKeyHints(db: Db, setting: 'auto' | 'on' | 'off'): Promise<boolean> {
  if (setting !== 'auto') return setting === 'on';
  const info = await db.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string';
}
