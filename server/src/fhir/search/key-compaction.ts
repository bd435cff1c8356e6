// Compaction of lookup keys (key-hints.ts): many single keys of one value become a few keys
// holding up to BUCKET_SIZE ids each, so that a common name (2,250 patients called Rossi in
// 100,000) is read as three documents instead of 2,250. A range read that finds many key
// documents asks for it; it runs in the background, one range at a time.
//
// Safe against everything running at the same time, because it only ever adds before it removes:
// the merged keys (every id of the documents it read) are inserted first, and only the documents
// it read are deleted afterwards, by _id. A key written meanwhile is not among them; a write whose
// key already existed (a duplicate, ignored) finds its id in the merged keys; two compactions of
// one range leave the union of both; a crash in between leaves duplicates, which cost nothing.
import { randomBytes } from 'node:crypto';
import type { Collection } from 'mongodb';
import { findBounded } from '../../db/bounded-find.ts';
import { keyResourceId, type KeyRange } from './lookup-keys.ts';

/**
 * A lookup key: a single key is nothing but its _id; a merged one lists its ids, separated by
 * spaces (one string rather than an array: the local database decodes and encodes an array of a
 * thousand strings element by element, a fifth of a whole page's cost for a common name).
 */
export interface KeyDocument {
  _id: string;
  ids?: string;
}

/** The resource ids a key stands for. */
export const idsOf = (key: KeyDocument): string[] => (key.ids !== undefined ? key.ids.split(' ') : [keyResourceId(key._id)]);

/** Most ids in one merged key (about 40 KB). */
const BUCKET_SIZE = 1000;
/** Most key documents one compaction reads (it may leave the rest for the next one). */
const MAX_READ = 20_000;
/** Keys deleted per command (an _id list the local database pushes down to its index). */
const DELETE_BATCH = 5000;

/** The value part of a key ("<Type>.<param> <value>"): everything before the id. */
const valueOf = (key: string) => key.slice(0, key.lastIndexOf(' '));

/** How many values the keys are of (they hold fewer documents merged). */
export const distinctValues = (docs: KeyDocument[]): number => new Set(docs.map((d) => valueOf(d._id))).size;

/** Merges the keys of each value in the range that has more than one key document. */
export async function compactKeyRange(keys: Collection<KeyDocument>, range: KeyRange): Promise<void> {
  const docs = await findBounded<KeyDocument>(keys.db, keys.collectionName, {
    filter: { _id: { $gte: range.gte, $lt: range.lt } },
    limit: MAX_READ,
  });
  const byValue = new Map<string, KeyDocument[]>();
  for (const d of docs) {
    const v = valueOf(d._id);
    const group = byValue.get(v);
    if (group) group.push(d);
    else byValue.set(v, [d]);
  }
  for (const [value, group] of byValue) {
    if (group.length < 2) continue;
    const ids = [...new Set(group.flatMap(idsOf))].sort();
    const merged: KeyDocument[] = [];
    for (let i = 0; i < ids.length; i += BUCKET_SIZE) {
      // "*" never starts a resource id, so a merged key is never taken for a single one.
      merged.push({ _id: `${value} *${randomBytes(8).toString('hex')}`, ids: ids.slice(i, i + BUCKET_SIZE).join(' ') });
    }
    await keys.insertMany(merged, { ordered: false });
    for (let i = 0; i < group.length; i += DELETE_BATCH) {
      await keys.deleteMany({ _id: { $in: group.slice(i, i + DELETE_BATCH).map((d) => d._id) } });
    }
  }
}
