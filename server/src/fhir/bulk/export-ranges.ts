// Id ranges for exporting a whole type on FerretDB. Keyset pages (`_id > cursor`, sorted, limited)
// cost one index step each on MongoDB, but FerretDB 1.x sorts and limits in Go after reading every
// document that matches: each page of a type would read all of the type that is left, and an
// export of N resources would read about N²/(2 × page) documents. So on FerretDB a type is split
// first into ranges of about a quarter page each (most fit in one page), bounded by ids sampled in one unsorted pass (one read of
// each document, which FerretDB streams); each range is a condition SQLite answers from the _id
// index (sqlite_pushdown_hr.go), and the keyset pages run inside it. Two reads per resource in
// all, whatever the size. The bounds are recorded with the job's progress, so a resumed job keeps
// the same ranges.
import type { Db, Document } from 'mongodb';

/** FNV-1a: a cheap, stable hash, so the sample does not depend on the order documents come in. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Sorted ids that split the type into ranges of about `size` documents (none for a small type). */
export async function idBounds(db: Db, type: string, size: number): Promise<string[]> {
  const bounds: string[] = [];
  for await (const doc of db.collection(type).find({}, { projection: { _id: 1 }, batchSize: 5000 })) {
    const id = doc._id;
    if (typeof id === 'string' && hash(id) % size === 0) bounds.push(id);
  }
  // Byte order, as the database compares strings (FHIR ids are ASCII).
  return bounds.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Below and above every FHIR id ([A-Za-z0-9\-.]{1,64}): the first and last ranges are bounded on
 * both sides too, as SQLite is given only ranges with both ends (sqlite_pushdown_hr.go).
 */
const LOWEST = '-';
const ABOVE_ALL = '~';

/** The condition of range `i` of `bounds`: [bounds[i-1], bounds[i]), the first and last ones closed by the sentinels. */
export function rangeCondition(bounds: string[], i: number): Document | undefined {
  if (bounds.length === 0) return undefined;
  return { _id: { $gte: i > 0 ? bounds[i - 1] : LOWEST, $lt: i < bounds.length ? bounds[i] : ABOVE_ALL } };
}
