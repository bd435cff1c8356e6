// The MongoDB side of search: what the executor needs from the database, in one place.
//
// Resources are read in replies of at most RESOURCES_PER_REPLY documents. The driver decodes a
// reply in one go on the event loop; a 1,000-resource page in one reply is megabytes of BSON, and
// decoding it held up every other request (health checks, reads) for tens of milliseconds. In
// batches, other requests are served between replies.
import type { Db, Document } from 'mongodb';
import { findByIdChunks } from '../../../db/id-chunks.ts';
import type { CurrentDocument } from '../../repo/stored-document.ts';
import type { SearchBudget } from './search-budget.ts';

/** Ids per query: an `_id` list up to this long is answered from the primary key (also on FerretDB). */
const IDS_PER_QUERY = 500;
/** Resources per database reply (see above); smaller reads stay one round trip. */
export const RESOURCES_PER_REPLY = 50;

export interface ResourceQuery {
  filter: Document;
  sort?: Document;
  projection?: Document;
  limit: number;
}

/** Up to `limit` current documents of `type`, in replies of RESOURCES_PER_REPLY, within the search's budget. */
export function findResources(db: Db, type: string, query: ResourceQuery, budget: SearchBudget): Promise<CurrentDocument[]> {
  return budget.run(async (maxTimeMS) => {
    // A long candidate list (lookup keys) is read a chunk at a time (db/id-chunks.ts).
    if (query.limit <= RESOURCES_PER_REPLY) return findByIdChunks<CurrentDocument>(db, type, { ...query, maxTimeMS });
    const cursor = db.collection<CurrentDocument>(type).find(query.filter, {
      projection: query.projection,
      sort: query.sort,
      limit: query.limit,
      batchSize: RESOURCES_PER_REPLY,
      maxTimeMS,
    });
    return (await cursor.toArray()) as CurrentDocument[];
  });
}

/** Fetches documents by id (those the restriction allows), in one query per 500 ids. */
export async function findByIds(
  db: Db,
  type: string,
  ids: string[],
  restrict: Document | undefined,
  projection: Document | undefined,
  budget: SearchBudget,
): Promise<CurrentDocument[]> {
  const out: CurrentDocument[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const chunk = ids.slice(i, i + IDS_PER_QUERY);
    const byId = chunk.length === 1 ? { _id: chunk[0] } : { _id: { $in: chunk } };
    const filter = restrict ? { $and: [byId, restrict] } : byId;
    out.push(...(await findResources(db, type, { filter, projection, limit: chunk.length }, budget)));
  }
  return out;
}
