// Reads with a known upper bound on the number of documents (a search page, an id list, a
// sub-query with a cap) as one `find` command whose first batch holds all of them.
//
// Why not the driver's cursor: for a query that returns everything in its first reply, the
// cursor machinery (cursor object, options resolution, operation retries, on-demand batch
// decoding) cost about a third of the driver's CPU per small search; as a command the same query
// made the whole server ~10 % faster (search benchmark, Appointment search, A/B). The command is
// the same `find` the cursor would send, so the database does the same work.
//
// What the cursor would have handled is handled here: a first batch can be cut short by the
// database's 16 MiB reply limit; then the cursor is still open (non-zero id), so it is closed and
// the query is run again through the driver's cursor, which follows it with getMore. The command
// carries the read preference and read concern the driver would have applied.
// See: https://www.mongodb.com/docs/manual/reference/command/find/
import type { Db, Document } from 'mongodb';

export interface BoundedFind {
  filter: Document;
  /** Field order matters: give keys in sort order. */
  sort?: Document;
  projection?: Document;
  /** At most this many documents (≥ 1). */
  limit: number;
  /** Documents in the first reply; by default all of them (the limit). */
  batchSize?: number;
  /** The database gives up after this long (error code 50, MaxTimeMSExpired); unset: no limit. */
  maxTimeMS?: number;
}

interface FindReply {
  cursor?: { id?: unknown; firstBatch?: Document[] };
}

/** The documents of `collection` matching the query: at most `limit` of them, in sort order. */
export async function findBounded<T extends Document = Document>(db: Db, collection: string, query: BoundedFind): Promise<T[]> {
  const limit = Math.floor(query.limit);
  if (!(limit >= 1)) throw new RangeError('findBounded needs a limit of at least 1');
  const command: Document = { find: collection, filter: query.filter };
  if (query.sort) command.sort = query.sort;
  if (query.projection) command.projection = query.projection;
  command.limit = limit;
  // One more than the limit: FerretDB closes a cursor only when a batch comes back short of its
  // batchSize, so a reply of exactly `limit` documents (a token found by its id) would leave it
  // open and cost a killCursors round trip. MongoDB stops at the limit either way.
  command.batchSize = query.batchSize ?? limit + 1;
  if (query.maxTimeMS !== undefined) command.maxTimeMS = query.maxTimeMS;
  const readConcern = db.readConcern?.level;
  if (readConcern) command.readConcern = { level: readConcern };

  // promoteLongs off: the cursor id is a 64-bit integer that killCursors must get back as one (a
  // JavaScript number is sent as a double, which FerretDB refuses, leaving the cursor open until
  // its connection pool runs dry). Stored documents hold no 64-bit integers (numbers are written
  // as 32-bit integers or doubles), so nothing else changes.
  const reply = (await db.command(command, { readPreference: db.readPreference, promoteLongs: false })) as FindReply;
  const id = reply.cursor?.id;
  const batch = reply.cursor?.firstBatch;
  if (!Array.isArray(batch)) throw new Error(`find on ${collection} answered without a first batch`);
  const open = id !== undefined && id !== null && String(id) !== '0';
  if (!open) return batch as T[];
  const close = () => db.command({ killCursors: collection, cursors: [id] }, { readPreference: db.readPreference }).catch(() => undefined);
  if (batch.length >= limit) {
    // Everything asked for, but the cursor was left open (FerretDB with a caller's batchSize of
    // the limit or less): close it without waiting.
    void close();
    return batch as T[];
  }

  // Cut short (by the reply size limit): close the cursor, let the driver's cursor page through.
  await close();
  const cursor = db.collection(collection).find(query.filter, { projection: query.projection, limit, maxTimeMS: query.maxTimeMS });
  if (query.sort) cursor.sort(query.sort);
  return (await cursor.toArray()) as unknown as T[];
}
