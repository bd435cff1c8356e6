// Loads resources straight into the database, stored exactly as the server stores them: index
// fields from the server's own indexer (document-indexer.ts: search values, partition key and the
// release time of results under the server's configuration), and on databases where the server
// keeps lookup keys (FerretDB: key-hints.ts) the keys first, before the documents that carry
// them, as the server's write path does. Batches of 1,000 documents per type.
import type { Db } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import type { ServerConfig } from '../../server/src/config.ts';
import { createDocumentIndexer } from '../../server/src/document-indexer.ts';
import type { CurrentDocument } from '../../server/src/fhir/repo/stored-document.ts';
import { KeyHints, wantsKeyHints } from '../../server/src/fhir/search/key-hints.ts';

const BATCH = 1000;

/** Loads resources (each with an id) as a server with this configuration stores them; returns how many. */
export async function loadResources(db: Db, config: ServerConfig, resources: Iterable<Resource>): Promise<number> {
  const indexer = createDocumentIndexer(config);
  const hints = (await wantsKeyHints(db, 'auto')) ? new KeyHints(db) : undefined;
  const ts = new Date();
  const batches = new Map<string, CurrentDocument[]>();
  const flush = async (type: string) => {
    const docs = batches.get(type) ?? [];
    batches.set(type, []);
    await hints?.recordAll(docs.map((d) => ({ type, id: d._id, sp: d.sp })));
    if (docs.length) await db.collection<CurrentDocument>(type).insertMany(docs, { ordered: false });
  };
  let n = 0;
  for (const r of resources) {
    r.meta = { ...r.meta, versionId: '1', lastUpdated: ts.toISOString() };
    const doc: CurrentDocument = { _id: r.id ?? '', vid: 1, ts, resource: r, ...indexer(r) };
    const list = batches.get(r.resourceType) ?? [];
    list.push(doc);
    batches.set(r.resourceType, list);
    n++;
    if (list.length >= BATCH) await flush(r.resourceType);
  }
  for (const type of batches.keys()) await flush(type);
  return n;
}
