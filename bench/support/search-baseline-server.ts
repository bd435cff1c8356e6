// The search benchmark's second baseline: the hand-written queries of search-scenarios.ts behind
// a bare node:http server (no Express, no FHIR parsing, no Bundle building beyond wrapping the
// resources), so the benchmark can show what the HTTP hop itself costs next to the server's search.
//   GET /<scenario index>/<patient number>  →  {"resourceType":"Bundle","entry":[{"resource":…},…]}
// Started as a child process by search-bench.ts: argv[2] is JSON { mongoUri, set, port, today, keys }.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { KEY_HINTS_COLLECTION, type KeyDocument } from '../../server/src/fhir/search/key-hints.ts';
import { scenarioSet } from './scenario-sets.ts';

const opts = JSON.parse(process.argv[2] ?? '{}') as { mongoUri: string; set: string; port: number; today: string; keys: boolean };
const client = await MongoClient.connect(opts.mongoUri, { maxPoolSize: 50 });
const set = scenarioSet(opts.set);
const db = client.db(set.database);
const scenarios = set.scenarios(db, opts.today, opts.keys ? db.collection<KeyDocument>(KEY_HINTS_COLLECTION) : undefined);

const server = http.createServer((req, res) => {
  const [, k, i] = (req.url ?? '').split('/');
  const scenario = scenarios[Number(k)];
  if (!scenario) {
    res.statusCode = 404;
    res.end();
    return;
  }
  scenario.raw(Number(i)).then(
    (docs) => {
      const body = JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: docs.map((d) => ({ resource: d.resource })) });
      res.setHeader('Content-Type', 'application/fhir+json');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
    },
    () => {
      res.statusCode = 500;
      res.end();
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(opts.port, '127.0.0.1', () => process.send?.({ ready: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));

process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void client.close().then(() => process.exit(0));
});
