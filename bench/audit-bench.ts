// Audit benchmark: what recording every access in the audit trail costs a read. Two FHIR servers
// on one database, configured alike except AUDIT_ENABLED (true: every read is queued and written
// as an AuditEvent in batches; false: the trail is off, nothing else changes — tokens are checked
// and access rules applied the same way). The same read, GET /fhir/Patient/{id} with a backend
// services token, is measured against both in alternating slices.
//
//   npm run bench:audit            (or: npx tsx bench/audit-bench.ts)
//
// It starts everything itself (a local database in a temporary directory, or MONGODB_URI; the
// two servers as child processes) and stops it all at the end. Target: audited ≥ 0.9× unaudited.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { loadAverage, pairedSettings, pairedTable, runPairedReads } from './support/paired-reads.ts';
import { AUDIT_CLAIMS_COLLECTION } from '../server/src/audit/audit-journal.ts';

const TARGET = 0.9;
const support = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support');
const settings = pairedSettings();
/** The audited server's AUDIT_FLUSH_MS (its default when unset). */
const auditFlushMs = process.env.BENCH_AUDIT_FLUSH_MS || undefined;
/** The audited server's AUDIT_MATERIALIZE_* settings, passed on when set (e.g. AUDIT_MATERIALIZE_BUSY_PERCENT=100: no pacing). */
const materializeEnv = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('AUDIT_MATERIALIZE_') && e[1] !== undefined));

async function countAuditEvents(mongoUri: string, databaseName: string): Promise<number> {
  const client = await MongoClient.connect(mongoUri);
  try {
    return await client.db(databaseName).collection('AuditEvent').countDocuments();
  } finally {
    await client.close();
  }
}

try {
  let written = 0;
  const script = path.join(support, 'fhir-server-process.ts');
  const result = await runPairedReads(
    'Audit benchmark',
    settings,
    {
      a: {
        label: 'audit trail on',
        script,
        env: { AUDIT_ENABLED: 'true', ...(auditFlushMs ? { AUDIT_FLUSH_MS: auditFlushMs } : {}), ...materializeEnv },
        // The journal's documents still to be turned into AuditEvents: the slice is not over before they are.
        backlog: (db) => db.collection(AUDIT_CLAIMS_COLLECTION).countDocuments(),
      },
      b: { label: 'audit trail off', script, env: { AUDIT_ENABLED: 'false' } },
    },
    async (uri, db) => {
      written = await countAuditEvents(uri, db);
    },
  );
  process.stdout.write(`\nAudit cost on reads, ${settings.connections} connections, ${settings.seconds} s per target, ${os.cpus().length} CPUs, load average at the end ${loadAverage()}\n`);
  process.stdout.write(pairedTable('read `GET /fhir/Patient/{id}`', [['audit trail off', result.b], ['audit trail on', result.a]], { catchUp: true }));
  const verdict = (r: number) => `${r.toFixed(2)}× (target ≥ ${TARGET}×: ${r >= TARGET ? 'pass' : 'FAIL'})`;
  process.stdout.write(
    `\naudited / unaudited throughput while reading: ${verdict(result.ratio)}\n` +
      `with the materialization after each slice counted in its time (sustained): ${verdict(result.sustainedRatio)}\n` +
      `AuditEvents written: ${written} for ${result.a.total} audited reads (+ warm-up and seeding)\n`,
  );
} catch (err) {
  process.stderr.write(`audit benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
