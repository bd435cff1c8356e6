// `npm run reindex [Type ...]`: recomputes patient, patients and sp of every stored resource
// (all types, or the ones named), e.g. after search parameter definitions changed. Safe while
// the server runs: each update is conditional on the version it read.
import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { loadConfig } from '../../config.ts';
import { connectDatabase } from '../../db/connection.ts';
import { createLogger } from '../../logger.ts';
import type { CurrentDocument, ResourceIndexer } from '../repo/stored-document.ts';
import { createDocumentIndexer } from '../../document-indexer.ts';
import { isResourceType } from './registry.ts';
import { ensureSearchIndexes } from './search-indexes.ts';
import { KeyHints, wantsKeyHints } from './key-hints.ts';

export async function reindex(db: Db, indexer: ResourceIndexer, types?: string[], hints?: KeyHints): Promise<Record<string, number>> {
  const names = types ?? (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter(isResourceType);
  const counts: Record<string, number> = {};
  for (const type of names.sort()) {
    const coll = db.collection<CurrentDocument>(type);
    await ensureSearchIndexes(db, type);
    let n = 0;
    let batch: AnyBulkWriteOperation<CurrentDocument>[] = [];
    for await (const doc of coll.find({}, { projection: { resource: 1, vid: 1 } })) {
      const fields = indexer(doc.resource);
      await hints?.record(type, String(doc._id), fields.sp); // before the document has the new values
      const set: Record<string, unknown> = { sp: fields.sp ?? {} };
      const unset: Record<string, ''> = {};
      if (fields.patient !== undefined) set.patient = fields.patient;
      else unset.patient = '';
      if (fields.patients !== undefined) set.patients = fields.patients;
      else unset.patients = '';
      if (fields.rel !== undefined) set.rel = fields.rel;
      else unset.rel = '';
      const update = Object.keys(unset).length ? { $set: set, $unset: unset } : { $set: set };
      batch.push({ updateOne: { filter: { _id: doc._id, vid: doc.vid }, update } });
      n++;
      if (batch.length >= 500) {
        await coll.bulkWrite(batch, { ordered: false });
        batch = [];
      }
    }
    if (batch.length > 0) await coll.bulkWrite(batch, { ordered: false });
    counts[type] = n;
  }
  return counts;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const types = process.argv.slice(2);
  for (const t of types) if (!isResourceType(t)) throw new Error(`${t} is not a resource type`);
  const database = await connectDatabase(config, log);
  try {
    const hints = (await wantsKeyHints(database.db, config.searchKeyHints)) ? new KeyHints(database.db) : undefined;
    const counts = await reindex(database.db, createDocumentIndexer(config), types.length ? types : undefined, hints);
    log.info({ counts }, 'reindex finished');
  } finally {
    await database.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
