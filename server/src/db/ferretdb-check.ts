// Runs the Go tests of the local FerretDB patches (ferretdb-patches/*_test.go) in a freshly
// patched FerretDB source tree, together with FerretDB's own tests of the patched sjson package.
//   npm run check:ferretdb [-- --fuzz 60s] [-- --sqlite <file.sqlite>]
// --fuzz also fuzzes the stored-document decoder against the original for that long; --sqlite
// decodes every document of a FerretDB SQLite database file both ways (e.g. the bench database).
// Needs Go and the module proxy (the tests use testify).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goCommand, LocalDatabaseError, prepareFerretDbSource } from './local-database.ts';

const PATCH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ferretdb-patches');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): number {
  const go = goCommand();
  if (!go) throw new LocalDatabaseError('the Go toolchain is needed to run the FerretDB patch tests');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferretdb-check-'));
  try {
    const srcDir = path.join(work, 'ferretdb');
    prepareFerretDbSource(go, srcDir);
    for (const test of fs.readdirSync(PATCH_DIR).filter((f) => f.endsWith('_test.go'))) {
      const pkg = test.startsWith('sjson_') ? 'internal/handler/sjson' : test.startsWith('projection_') ? 'internal/handler/common' : 'internal/backends/sqlite';
      fs.copyFileSync(path.join(PATCH_DIR, test), path.join(srcDir, pkg, test));
    }
    // FerretDB's test helpers look for the repository root by its .git directory.
    fs.mkdirSync(path.join(srcDir, '.git'));
    const env: NodeJS.ProcessEnv = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
    const sqlite = option('sqlite');
    if (sqlite) env.HR_SJSON_SQLITE = path.resolve(sqlite);
    const run = (args: string[]) => spawnSync(go, args, { cwd: srcDir, env, stdio: 'inherit' }).status ?? 1;
    let status = run(['test', '-count=1', './internal/handler/sjson/']);
    // The pushdown's and projection's own tests only: FerretDB's tests of those packages need a running FerretDB.
    if (status === 0) status = run(['test', '-count=1', '-run', '^TestHR', './internal/backends/sqlite/', './internal/handler/common/']);
    const fuzz = option('fuzz');
    if (status === 0 && fuzz) {
      status = run(['test', '-run', '^$', '-fuzz', 'FuzzHRUnmarshal', '-fuzztime', fuzz, './internal/handler/sjson/']);
    }
    return status;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = main();
