// Identifier lookups for databases without multikey indexes.
//
// `Patient?identifier=urn:mrn|123` (registration, integrators, chains such as
// `Observation?subject:Patient.identifier=…`) matches an array of index values. MongoDB answers it
// from a multikey index; FerretDB's SQLite backend has no such index and checks every document of
// the type (~40 ms per lookup at 10,000 patients, growing with the data). On such databases the
// server keeps, beside the documents, one small "key" document per identifier value:
//   { _id: "Patient/123 Patient.identifier sc:urn:mrn|123", k: "Patient.identifier sc:urn:mrn|123", r: "123" }
// with an index on the scalar `k`, and narrows identifier searches to `_id: {$in: <r of the keys>}`
// before the exact condition.
//
// Keys are hints, never the answer: the exact condition on the documents still decides, so a stale
// key (a resource since changed or deleted) costs nothing but a candidate. What must never happen
// is a missing key, so keys are written before the document that carries them, by every path that
// writes current documents (create, update, roll-forward, transaction rollback, reindex), and the
// keys of documents written before this existed are built once at start-up. Stale keys are never
// deleted: no delete could be ordered safely against a concurrent write that re-adds the key, and
// they are rare (an identifier changed, a resource deleted) and harmless.
import type { Db, Document } from 'mongodb';
import { findBounded } from '../../db/bounded-find.ts';
import { isDuplicateKeyOnly } from '../../db/write-errors.ts';
import type { TokenIndex } from './index-values/shapes.ts';
import { isResourceType, searchParamRegistry } from './registry.ts';

export const KEY_HINTS_COLLECTION = 'search_keys';
/** Marks a database whose keys are complete (written once, after the start-up build). */
const BUILT_MARKER = '#built-v1';
/** Token parameters with key hints: identifiers, the lookups that would otherwise scan. */
const HINTED_PARAMS = ['identifier'];

export interface KeyDocument {
  _id: string;
  k: string;
  r: string;
}

export const hintedParam = (code: string): boolean => HINTED_PARAMS.includes(code);

/** The key of one token index value: "sc:<system|code>" or "c:<code>". */
export const keyOf = (type: string, param: string, value: string): string => `${type}.${param} ${value}`;

/** Keys of a document's index values (sp) for the hinted parameters. */
export function documentKeys(type: string, sp: Record<string, unknown> | undefined): string[] {
  const keys: string[] = [];
  for (const param of HINTED_PARAMS) {
    const idx = sp?.[param] as TokenIndex | undefined;
    if (!idx) continue;
    for (const v of idx.sc ?? []) keys.push(keyOf(type, param, `sc:${v}`));
    for (const v of idx.c ?? []) keys.push(keyOf(type, param, `c:${v}`));
  }
  return keys;
}

export class KeyHints {
  private readonly keys;

  constructor(readonly db: Db) {
    this.keys = db.collection<KeyDocument>(KEY_HINTS_COLLECTION);
  }

  /** Records the keys of a document before it is written. Idempotent. */
  record(type: string, id: string, sp: Record<string, unknown> | undefined): Promise<void> {
    return this.recordAll([{ type, id, sp }]);
  }

  /** Records the keys of several documents (bulk loads, the start-up build). Idempotent. */
  async recordAll(items: Array<{ type: string; id: string; sp: Record<string, unknown> | undefined }>): Promise<void> {
    const docs = items.flatMap(({ type, id, sp }) => documentKeys(type, sp).map((k) => ({ _id: `${type}/${id} ${k}`, k, r: id })));
    if (docs.length === 0) return;
    try {
      await this.keys.insertMany(docs, { ordered: false });
    } catch (err) {
      if (!isDuplicateKeyOnly(err)) throw err; // keys the resource already had
    }
  }

  /**
   * Ids of `type` resources that may have one of the keys; undefined when there are more than max.
   * maxTimeMS: the search's time budget left.
   */
  async candidates(keys: string[], max: number, maxTimeMS?: number): Promise<string[] | undefined> {
    const docs = await findBounded<KeyDocument>(this.db, KEY_HINTS_COLLECTION, {
      filter: keys.length === 1 ? { k: keys[0] } : { k: { $in: keys } },
      projection: { r: 1 },
      limit: max + 1,
      maxTimeMS,
    });
    if (docs.length > max) return undefined;
    return [...new Set(docs.map((d) => d.r))];
  }

  /**
   * Makes the keys complete: creates the index and, unless done before, records the keys of every
   * stored resource of the types with hinted parameters. Returns how many resources it went through.
   */
  async build(): Promise<number> {
    await this.keys.createIndex({ k: 1 }, { name: 'k' });
    if (await this.keys.findOne({ _id: BUILT_MARKER })) return 0;
    const registry = searchParamRegistry();
    const types = (await this.db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((t) => isResourceType(t) && HINTED_PARAMS.some((p) => registry.get(t, p)));
    let n = 0;
    for (const type of types) {
      const projection: Document = { _id: 1 };
      for (const p of HINTED_PARAMS) projection[`sp.${p}`] = 1;
      let batch: Array<{ type: string; id: string; sp: Record<string, unknown> | undefined }> = [];
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
    await this.keys.updateOne({ _id: BUILT_MARKER }, { $set: { k: BUILT_MARKER, r: '' } }, { upsert: true });
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
