// npm run export -- --base URL --client-id ID --key FILE [--type T,…] [--since INSTANT]
//   [--group ID | --patients] --out DIR
// A Bulk Data export client for integrators, for this server or any Bulk Data 2.0 server: SMART
// Backend Services authentication, kick-off, polling with backoff and a progress bar, downloads
// that resume after an interruption (run the same command again with --resume STATUS-URL), counts
// checked against the manifest, and a summary.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backendTokens } from './backend-token.ts';
import { kickOff, waitForManifest, type Manifest } from './export-session.ts';
import { downloadFile } from './file-download.ts';

const HELP = `Usage: npm run export -- --base URL --client-id ID --key FILE --out DIR [options]

  --base URL        the FHIR base, e.g. https://ehr.example.org/fhir
  --client-id ID    the backend-services client id the server registered
  --key FILE        the client's private key: a JWK (or a JWKS holding one) with "d", "kid", "alg"
  --out DIR         where the NDJSON files and manifest.json go
  --type T,…        only these resource types (_type)
  --since INSTANT   only what changed after this instant (_since), e.g. 2026-01-01T00:00:00Z
  --group ID        export the members of Group/ID (Group level)
  --patients        export every patient's compartment (Patient level)
  --scope "S"       scopes to ask for (default "system/*.rs")
  --resume URL      continue an earlier export from its status URL (printed at kick-off)
  --help`;

function bar(text: string): string {
  const pct = /(\d+)%/.exec(text)?.[1];
  if (pct === undefined) return text;
  const width = 30;
  const done = Math.round((Number(pct) / 100) * width);
  return `[${'#'.repeat(done)}${' '.repeat(width - done)}] ${text}`;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      base: { type: 'string' },
      'client-id': { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      type: { type: 'string' },
      since: { type: 'string' },
      group: { type: 'string' },
      patients: { type: 'boolean' },
      scope: { type: 'string' },
      resume: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (v.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  if (!v.base || !v['client-id'] || !v.key || !v.out) throw new Error(`--base, --client-id, --key and --out are needed\n\n${HELP}`);
  if (v.group && v.patients) throw new Error('--group and --patients exclude each other');
  const fhirBase = v.base.replace(/\/+$/, '');
  const token = await backendTokens({ fhirBase, clientId: v['client-id'], keyFile: v.key, scope: v.scope ?? 'system/*.rs' });
  const started = Date.now();
  const statusUrl =
    v.resume ??
    (await kickOff({ fhirBase, types: v.type?.split(',').map((t) => t.trim()).filter(Boolean), since: v.since, group: v.group, patients: v.patients }, token));
  process.stderr.write(`export started; status URL (for --resume): ${statusUrl}\n`);
  const tty = process.stderr.isTTY;
  const manifest: Manifest = await waitForManifest(statusUrl, token, (text) => {
    process.stderr.write(tty ? `\r${bar(text).padEnd(100)}` : `${bar(text)}\n`);
  });
  if (tty) process.stderr.write('\n');
  fs.mkdirSync(v.out, { recursive: true });
  fs.writeFileSync(path.join(v.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const files = [
    ...manifest.output.map((o, i) => ({ ...o, name: `${o.type}.${i + 1}.ndjson` })),
    ...manifest.error.map((o, i) => ({ ...o, name: `error.${i + 1}.ndjson` })),
    ...(manifest.deleted ?? []).map((o, i) => ({ ...o, name: `deleted.${i + 1}.ndjson` })),
  ];
  const totals = new Map<string, number>();
  let bytes = 0;
  let mismatches = 0;
  for (const f of files) {
    const target = path.join(v.out, f.name);
    const got = await downloadFile(f.url, target, token, manifest.requiresAccessToken);
    bytes += got.bytes;
    if (f.count !== undefined && f.count !== got.lines) {
      mismatches++;
      process.stderr.write(`${f.name}: ${got.lines} lines, the manifest says ${f.count}\n`);
    }
    if (manifest.output.some((o) => o.url === f.url)) totals.set(f.type, (totals.get(f.type) ?? 0) + got.lines);
    process.stderr.write(`${f.name}: ${got.lines} lines, ${got.bytes} bytes${got.resumedFrom > 0 ? ` (resumed at ${got.resumedFrom})` : ''}\n`);
  }
  const seconds = (Date.now() - started) / 1000;
  const resources = [...totals.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`transactionTime ${manifest.transactionTime}\n`);
  for (const [type, n] of [...totals].sort()) process.stdout.write(`${type.padEnd(28)} ${n}\n`);
  process.stdout.write(
    `${resources} resources in ${files.length} files (${(bytes / 1048576).toFixed(1)} MiB), ${manifest.error.length} error files, ` +
      `${manifest.deleted?.length ?? 0} deleted files, ${seconds.toFixed(1)} s; written to ${v.out}\n`,
  );
  if (mismatches > 0) throw new Error(`${mismatches} files do not hold the number of resources the manifest says`);
}

main().catch((err: unknown) => {
  process.stderr.write(`export: ${(err as Error).message}\n`);
  process.exit(1);
});
