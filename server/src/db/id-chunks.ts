// Reads narrowed to a long list of _ids (a search's lookup-key candidates: 2,500 patients called
// Rossi in 100,000), a chunk of the list at a time in _id order, so that a page of 20 reads about
// 20 documents instead of every candidate. With a filter, FerretDB (the local database) neither
// sorts nor stops in SQL: it decodes every document the list names, then sorts and cuts in Go.
//
// Only for reads in _id order (a search's default) or in no order (sub-queries): in any other
// order every candidate may come first, so the whole list goes to the database as one $in.
// Chunks hold the list in the database's order (UTF-8 bytes), each chunk's documents come back in
// that order, so the chunks' documents one after the other are the read's answer.
import type { Db, Document } from 'mongodb';
import { findBounded, type BoundedFind } from './bounded-find.ts';

/** Most ids in one chunk (the local database looks each up in its _id index). */
const MAX_CHUNK = 500;
/** Lists up to this long (or twice the limit) go to the database in one query. */
const SMALL_LIST = 64;

/** The filter's top-level `_id: {$in: [strings]}` list. */
function idList(filter: Document): string[] | undefined {
  const cond: unknown = filter._id;
  if (!cond || typeof cond !== 'object' || Object.keys(cond).length !== 1) return undefined;
  const list: unknown = (cond as Document).$in;
  return Array.isArray(list) && list.every((v) => typeof v === 'string') ? (list as string[]) : undefined;
}

/** Order of UTF-8 bytes, which is code point order (JavaScript's < compares UTF-16 units). */
function compareIds(a: string, b: string): number {
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(j) ?? 0;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1; // one starts the other
}

/** The ids once each in order (a search's candidates come sorted: then only checked). */
function inOrder(ids: string[]): string[] {
  for (let i = 1; i < ids.length; i++) {
    if (compareIds(ids[i - 1], ids[i]) >= 0) return [...new Set(ids)].sort(compareIds);
  }
  return ids;
}

const RANGE_OPS: Record<string, (c: number) => boolean> = {
  $gt: (c) => c > 0,
  $gte: (c) => c >= 0,
  $lt: (c) => c < 0,
  $lte: (c) => c <= 0,
};

/**
 * Drops the ids that a plain `{_id: {$gt: x}}`-like condition in the filter's $and rules out (a
 * page link's position), so the chunks start at the page. The conditions stay in the query.
 */
function withinBounds(ids: string[], filter: Document): string[] {
  const and: unknown = filter.$and;
  if (!Array.isArray(and)) return ids;
  let out = ids;
  for (const cond of and as Document[]) {
    const keys = Object.keys(cond);
    if (keys.length !== 1 || keys[0] !== '_id' || !cond._id || typeof cond._id !== 'object') continue;
    for (const [op, bound] of Object.entries(cond._id as Document)) {
      const test = RANGE_OPS[op];
      if (test && typeof bound === 'string') out = out.filter((id) => test(compareIds(id, bound)));
    }
  }
  return out;
}

/** findBounded, reading a long `_id: {$in}` list in chunks where the order allows it. */
export async function findByIdChunks<T extends Document = Document>(db: Db, collection: string, query: BoundedFind): Promise<T[]> {
  const ids = idList(query.filter);
  if (ids?.length === 0) return []; // nothing can match: no need to ask
  const sort = query.sort ? Object.entries(query.sort) : [];
  const byId = sort.length === 0 || (sort.length === 1 && sort[0][0] === '_id');
  if (!ids || !byId || ids.length <= Math.max(SMALL_LIST, 2 * query.limit)) return findBounded<T>(db, collection, query);

  const descending = sort.length === 1 && sort[0][1] === -1;
  const list = withinBounds(inOrder(ids), query.filter);
  if (descending) list.reverse();
  const out: T[] = [];
  let next = 0;
  let size = Math.min(MAX_CHUNK, query.limit);
  while (next < list.length && out.length < query.limit) {
    const chunk = list.slice(next, next + size);
    next += chunk.length;
    const docs = await findBounded<T>(db, collection, {
      ...query,
      filter: { ...query.filter, _id: { $in: chunk } },
      limit: query.limit - out.length,
    });
    out.push(...docs);
    // Most candidates usually match; where few do, take bigger steps.
    size = Math.min(MAX_CHUNK, size * 4);
  }
  return out;
}
