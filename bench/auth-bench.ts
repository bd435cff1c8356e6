// Token-check benchmark: what checking the access token costs a read. Two FHIR servers on one
// database, configured alike; one checks every request's token in the database as the product
// does (bearer-tokens.ts: opaque tokens, looked up on every request so that a revocation counts
// on the next request on every instance), the other reuses the first answer for a token
// (support/unchecked-server-process.ts). The same read, GET /fhir/Patient/{id} with a backend
// services token, is measured against both in alternating slices.
//
//   npm run bench:auth            (or: npx tsx bench/auth-bench.ts)
//
// Target: checked ≥ 0.85× unchecked. Knobs: BENCH_SECONDS, BENCH_SLICE_SECONDS,
// BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_POOL, BENCH_SETTLE_MS, BENCH_CPU_PROF, MONGODB_URI.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage, pairedSettings, pairedTable, runPairedReads } from './support/paired-reads.ts';

const TARGET = 0.85;
const support = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support');
const settings = pairedSettings();

try {
  const result = await runPairedReads('Token-check benchmark', settings, {
    a: { label: 'token checked (as deployed)', script: path.join(support, 'fhir-server-process.ts'), env: {} },
    b: { label: 'token not checked', script: path.join(support, 'unchecked-server-process.ts'), env: {} },
  });
  process.stdout.write(`\nToken check on reads, ${settings.connections} connections, ${settings.seconds} s per target, ${os.cpus().length} CPUs, load average at the end ${loadAverage()}\n`);
  process.stdout.write(pairedTable('read `GET /fhir/Patient/{id}`', [['token not checked', result.b], ['token checked', result.a]]));
  process.stdout.write(`\nchecked / unchecked throughput: ${result.ratio.toFixed(2)}× (target ≥ ${TARGET}×: ${result.ratio >= TARGET ? 'pass' : 'FAIL'})\n`);
} catch (err) {
  process.stderr.write(`token-check benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
