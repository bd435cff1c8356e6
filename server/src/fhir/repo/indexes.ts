// Collections and indexes the storage layer needs. Per-type collections are created lazily on
// first write (there are ~145 R4 types); the shared ones are created at start.
import type { Db } from 'mongodb';
import { HISTORY_COLLECTION, JOURNAL_COLLECTION } from './stored-document.ts';

export async function ensureCoreIndexes(db: Db): Promise<void> {
  const history = db.collection(HISTORY_COLLECTION);
  // Instance history and version lookups; type history; system history (newest first).
  await history.createIndex({ type: 1, id: 1, vid: -1 }, { name: 'type_id_vid' });
  await history.createIndex({ type: 1, ts: -1 }, { name: 'type_ts' });
  await history.createIndex({ ts: -1 }, { name: 'ts' });
  await db.collection(JOURNAL_COLLECTION).createIndex({ state: 1 }, { name: 'state' });
}

/** Indexes every per-type collection gets (the search module adds its own per parameter). */
export async function ensureTypeIndexes(db: Db, type: string): Promise<void> {
  const coll = db.collection(type);
  await coll.createIndex({ ts: -1 }, { name: 'ts' });
  await coll.createIndex({ patient: 1, ts: -1 }, { name: 'patient_ts' });
}
