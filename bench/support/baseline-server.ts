// The REST benchmark's baseline: a bare node:http server that performs, with the raw driver on
// the same database, the same MongoDB operations the FHIR server performs for each interaction,
// and nothing else (no Express, no content negotiation, no validation, no index extraction, no logs).
//
//   read    GET  /fhir/Patient/{id}  Patient.findOne({ _id })
//   create  POST /fhir/Patient       history.insertOne(version 1), then Patient.insertOne(current)
//   update  PUT  /fhir/Patient/{id}  Patient.findOne({ _id }, vid only); history.findOne({ _id:
//                                    Patient/{id}/{n+1} }) (is a newer version claimed?);
//                                    history.insertOne(version n+1), retried on a duplicate key;
//                                    Patient.replaceOne({ _id }, upsert)
//
// That is ResourceRepository.create / read / writeVersion for a resource that exists (the only
// case the benchmark exercises: a PUT to an unknown id answers 404 here, where the server would
// create it).
//
// Documents have the product's shape and size: the search index fields (sp) are computed once, at
// start, from one benchmark patient and reused for every write, so the database stores and
// indexes as much as for the product while the baseline spends no CPU on index extraction.
// Started as a child process by rest-bench.ts: argv[2] is JSON { mongoUri, databaseName, port }.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import { createResourceIndexer } from '../../server/src/fhir/search/indexer.ts';
import {
  HISTORY_COLLECTION,
  historyId,
  type CurrentDocument,
  type HistoryDocument,
} from '../../server/src/fhir/repo/stored-document.ts';
import { benchPatient } from './bench-patients.ts';

interface BaselineOptions {
  mongoUri: string;
  databaseName: string;
  port: number;
}

const TYPE = 'Patient';
const PREFIX = `/fhir/${TYPE}`;
const options = JSON.parse(process.argv[2] ?? '{}') as BaselineOptions;

// Same pool settings as server/src/db/connection.ts.
const client = new MongoClient(options.mongoUri, { serverSelectionTimeoutMS: 10_000, maxPoolSize: 50 });
await client.connect();
const db = client.db(options.databaseName);
const current = db.collection<CurrentDocument>(TYPE);
const history = db.collection<HistoryDocument>(HISTORY_COLLECTION);
const { sp } = createResourceIndexer({ baseUrl: `http://127.0.0.1:${options.port}/fhir` })({ ...benchPatient(0), id: 'template' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function documentOf(body: Resource, id: string, vid: number, ts: Date): CurrentDocument {
  const { resourceType, id: _id, meta, ...rest } = body;
  const resource = { resourceType, id, meta: { ...(meta ?? {}), versionId: String(vid), lastUpdated: ts.toISOString() }, ...rest } as Resource;
  return { _id: id, vid, ts, resource, patient: id, sp };
}

function historyOf(doc: CurrentDocument, method: HistoryDocument['method']): HistoryDocument {
  return { _id: historyId(TYPE, doc._id, doc.vid), type: TYPE, id: doc._id, vid: doc.vid, ts: doc.ts, method, resource: doc.resource, patient: doc.patient };
}

function reply(res: http.ServerResponse, status: number, doc?: CurrentDocument, location = false): void {
  if (!doc) {
    res.writeHead(status, { 'Content-Type': 'application/fhir+json; charset=utf-8' }).end('{"resourceType":"OperationOutcome"}');
    return;
  }
  const headers: Record<string, string> = {
    'Content-Type': 'application/fhir+json; charset=utf-8',
    ETag: `W/"${doc.vid}"`,
    'Last-Modified': doc.ts.toUTCString(),
  };
  if (location) headers.Location = `http://127.0.0.1:${options.port}${PREFIX}/${doc._id}/_history/${doc.vid}`;
  res.writeHead(status, headers).end(JSON.stringify(doc.resource));
}

async function readBody(req: http.IncomingMessage): Promise<Resource> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Resource;
}

async function create(body: Resource): Promise<CurrentDocument> {
  const doc = documentOf(body, randomUUID(), 1, new Date());
  await history.insertOne(historyOf(doc, 'POST'));
  await current.insertOne(doc);
  return doc;
}

/** The product's version claim (ResourceRepository.writeVersion) without If-Match and roll-forward. */
async function update(id: string, body: Resource): Promise<CurrentDocument | undefined> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const existing = await current.findOne({ _id: id }, { projection: { vid: 1 } });
    if (!existing) return undefined;
    // A version claimed but not yet current: wait for its writer, as the product does.
    if (await history.findOne({ _id: historyId(TYPE, id, existing.vid + 1) })) {
      await sleep(Math.min(2 + attempt * 2, 25));
      continue;
    }
    const doc = documentOf(body, id, existing.vid + 1, new Date());
    try {
      await history.insertOne(historyOf(doc, 'PUT'));
    } catch (err) {
      if ((err as { code?: number }).code === 11000) continue; // another writer claimed it first
      throw err;
    }
    await current.replaceOne({ _id: id }, doc, { upsert: true });
    return doc;
  }
  throw new Error(`${TYPE}/${id}: too many lost races`);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = req.url ?? '';
  if (url === PREFIX && req.method === 'POST') {
    reply(res, 201, await create(await readBody(req)), true);
    return;
  }
  if (url.startsWith(`${PREFIX}/`)) {
    const id = url.slice(PREFIX.length + 1);
    if (req.method === 'GET') {
      const doc = await current.findOne({ _id: id });
      reply(res, doc ? 200 : 404, doc ?? undefined);
      return;
    }
    if (req.method === 'PUT') {
      const doc = await update(id, await readBody(req));
      reply(res, doc ? 200 : 404, doc, true);
      return;
    }
  }
  reply(res, 404);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    process.stderr.write(`baseline: ${(err as Error).message}\n`);
    if (!res.headersSent) reply(res, 500);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(options.port, '127.0.0.1', () => {
  process.send?.({ ready: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

process.on('SIGTERM', () => {
  server.close(() => void client.close().then(() => process.exit(0)));
  server.closeIdleConnections();
});
