// The MongoDB side of search: what the executor needs from the database, in one place.
import type { Db, Document } from 'mongodb';
import { findBounded } from '../../../db/bounded-find.ts';
import type { CurrentDocument } from '../../repo/stored-document.ts';

/** Ids per query: an `_id` list up to this long is answered from the primary key (also on FerretDB). */
const IDS_PER_QUERY = 500;

/** Fetches documents by id (those the restriction allows), in one query per 500 ids. */
export async function findByIds(db: Db, type: string, ids: string[], restrict: Document | undefined, projection?: Document): Promise<CurrentDocument[]> {
  const out: CurrentDocument[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const chunk = ids.slice(i, i + IDS_PER_QUERY);
    const byId = chunk.length === 1 ? { _id: chunk[0] } : { _id: { $in: chunk } };
    const filter = restrict ? { $and: [byId, restrict] } : byId;
    out.push(...(await findBounded<CurrentDocument>(db, type, { filter, projection, limit: chunk.length })));
  }
  return out;
}
