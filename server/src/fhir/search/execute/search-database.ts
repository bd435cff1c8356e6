// The MongoDB side of search: what the executor needs from the database, in one place.
import type { Db, Document } from 'mongodb';
import type { CurrentDocument } from '../../repo/stored-document.ts';

export interface FoundDocument extends Document {
  _id: string;
}

/** Fetches documents by id. Small lists without extra conditions go as single-id lookups, the
 * only filter FerretDB's SQLite backend pushes down to its primary key; others as one $in. */
export async function findByIds(db: Db, type: string, ids: string[], restrict: Document | undefined, projection?: Document): Promise<CurrentDocument[]> {
  if (ids.length === 0) return [];
  const coll = db.collection<CurrentDocument>(type);
  if (!restrict && ids.length <= 50) {
    const docs = await Promise.all(ids.map((id) => coll.findOne({ _id: id }, projection ? { projection } : {})));
    return docs.filter((d): d is CurrentDocument => d !== null);
  }
  const filter = restrict ? { $and: [{ _id: { $in: ids } }, restrict] } : { _id: { $in: ids } };
  return coll.find(filter as Document, projection ? { projection } : {}).toArray() as Promise<CurrentDocument[]>;
}
