// What reading request bodies faithfully costs (server/src/fhir/json/faithful-json.ts): the UTF-8
// check and the one-pass scan that runs before JSON.parse, beside JSON.parse itself, for a
// typical ~2 KB resource and a ~5 MB transaction Bundle (compact and pretty-printed), built from
// the committed demo data. In-process, no server: it prints microseconds per body.
//
//   npm run bench:json-read
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUnfaithfulJson } from '../server/src/fhir/json/faithful-json.ts';

const demoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../seed-data/demo');
const resources = fs
  .readdirSync(demoDir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => (JSON.parse(fs.readFileSync(path.join(demoDir, f), 'utf8')) as { entry?: Array<{ resource: object }> }).entry ?? [])
  .map((e) => e.resource);

const typical = resources.map((r) => JSON.stringify(r)).sort((a, b) => Math.abs(a.length - 2048) - Math.abs(b.length - 2048))[0];
const entries: object[] = [];
for (let size = 0, i = 0; size < 5e6; i++) {
  const resource = resources[i % resources.length];
  entries.push({ fullUrl: `urn:uuid:${i}`, resource, request: { method: 'POST', url: (resource as { resourceType: string }).resourceType } });
  size += JSON.stringify(resource).length + 80;
}
const bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };

/** Microseconds per call, after a warm-up. */
function perCall(fn: () => void, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 50); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / iterations;
}

const rows: string[][] = [];
for (const [name, text, iterations] of [
  ['typical resource', typical, 20_000],
  ['transaction Bundle', JSON.stringify(bundle), 20],
  ['same, pretty-printed', JSON.stringify(bundle, null, 2), 20],
] as const) {
  const bytes = Buffer.from(text);
  const parse = perCall(() => JSON.parse(text), iterations);
  const utf8 = perCall(() => isUtf8(bytes), iterations);
  const scan = perCall(() => findUnfaithfulJson(text, 64), iterations);
  rows.push([name, `${(bytes.length / 1024).toFixed(0)} KB`, parse.toFixed(1), utf8.toFixed(1), scan.toFixed(1), `${((100 * (utf8 + scan)) / parse).toFixed(0)} %`]);
}
console.log('| body | size | JSON.parse µs | isUtf8 µs | scan µs | checks / parse |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
