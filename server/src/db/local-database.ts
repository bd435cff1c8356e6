// Brings up the local database when MONGODB_URI is not set: `mongod` from the PATH if there is
// one, otherwise FerretDB 1.24.2 (SQLite backend) built once with Go into <dataDir>/bin.
// See DESIGN.md "Local and CI database".
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.ts';

export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/** Bumped whenever the local patches below change, so an older build is not reused. */
export const FERRETDB_BUILD = `${FERRETDB_VERSION}-hr11`;

/**
 * Performance fixes to FerretDB 1.24 (SQLite backend), applied to the module source before it is
 * built. Results are unchanged: see the Go files in ferretdb-patches/ for why, and
 * `npm run check:ferretdb` for the Go tests that cross-check the decoder.
 * 1. It looks documents up by `_ferretdb_sjson->'$._id'` but indexes them by
 *    `_ferretdb_sjson->"_id"`; SQLite matches expression indexes by their text, so every lookup,
 *    update and delete by _id scanned the table. The lookup is written as the index is.
 * 2. It pushes down nothing but a lone _id, so every other query decoded the whole collection in
 *    Go (seconds for a patient's lab results at a few thousand documents). Equality on top-level
 *    fields, such as the `patient` partition key, is pushed down to SQLite and its indexes
 *    (sqlite_pushdown_hr.go).
 * 3. Its stored-document decoder re-parsed every nested value with a new encoding/json decoder;
 *    sjson_fast_hr.go decodes in one pass and parses each distinct schema once (4x the throughput
 *    of a patient's lab-results search). The original decoder still handles anything unusual.
 * 4. Release builds tracked every iterator for leak reports (a stack walk and a finalizer each,
 *    a fifth of the CPU time of a search); like debug stacks, that is now for debug builds only.
 */
const PATCH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ferretdb-patches');
const ID_ONLY_PUSHDOWN = /\tif params\.Filter\.Len\(\) == 1 \{\n\t\tv, _ := params\.Filter\.Get\("_id"\)\n[\s\S]*?\n\t\}\n/g;

/** Replaces text that must occur exactly once in a FerretDB source file. */
function replaceOnce(file: string, from: string, to: string): void {
  const text = fs.readFileSync(file, 'utf8');
  if (text.split(from).length !== 2) throw new LocalDatabaseError(`cannot patch FerretDB: ${path.basename(file)} is not as expected`);
  fs.writeFileSync(file, text.replace(from, () => to));
}

function patchFerretDbSource(srcDir: string): void {
  const sqliteDir = path.join(srcDir, 'internal/backends/sqlite');
  replaceOnce(
    path.join(sqliteDir, 'metadata/metadata.go'),
    `IDColumn = DefaultColumn + "->'$._id'"`,
    'IDColumn = DefaultColumn + "->\\"_id\\""',
  );

  const collectionFile = path.join(sqliteDir, 'collection.go');
  const collection = fs.readFileSync(collectionFile, 'utf8');
  const blocks = collection.match(ID_ONLY_PUSHDOWN) ?? [];
  if (blocks.length !== 2) throw new LocalDatabaseError('cannot patch FerretDB: collection.go is not as expected');
  const patched = collection.replace(ID_ONLY_PUSHDOWN, (block) =>
    block.includes('filterPushdown = true')
      ? '\twhereClause, args = hrWhereClause(params.Filter)\n\tfilterPushdown = whereClause != ""\n'
      : '\twhereClause, args = hrWhereClause(params.Filter)\n',
  );
  fs.writeFileSync(collectionFile, patched);
  fs.copyFileSync(path.join(PATCH_DIR, 'sqlite_pushdown_hr.go'), path.join(sqliteDir, 'sqlite_pushdown_hr.go'));

  const sjsonDir = path.join(srcDir, 'internal/handler/sjson');
  replaceOnce(
    path.join(sjsonDir, 'sjson.go'),
    'func Unmarshal(data []byte) (*types.Document, error) {',
    'func unmarshalOriginal(data []byte) (*types.Document, error) {',
  );
  fs.copyFileSync(path.join(PATCH_DIR, 'sjson_fast_hr.go'), path.join(sjsonDir, 'sjson_fast_hr.go'));

  const resourceFile = path.join(srcDir, 'internal/util/resource/resource.go');
  for (const fn of ['Track', 'Untrack']) {
    const head = `func ${fn}(obj any, token *Token) {\n\tcheckArgs(obj, token)\n`;
    replaceOnce(resourceFile, head, `${head}\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n`);
  }
}

export interface LocalDatabase {
  uri: string;
  kind: 'mongod' | 'ferretdb';
  /** Stops the database process and waits for it to exit. */
  stop(): Promise<void>;
}

/** A problem the user can fix (missing tool, failed build): reported as one clear message. */
export class LocalDatabaseError extends Error {
  override name = 'LocalDatabaseError';
}

function onPath(command: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  for (const dir of dirs) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new LocalDatabaseError(`the local database exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LocalDatabaseError(`the local database did not open port ${port} within ${timeoutMs} ms`);
}

/**
 * Path of a FerretDB binary, building it if needed. A binary cached in FERRETDB_CACHE_DIR
 * (used by CI) is copied instead of rebuilt.
 *
 * `go install …@v1.24.2` does not work here: the module proxy refuses the version list it asks
 * for, and FerretDB panics at start unless build/version/version.txt is present. So the module
 * is downloaded with `go mod download`, copied, given its version file, and built with `go build`.
 */
export function ensureFerretDbBinary(dataDir: string, log: Logger, cacheDir?: string): string {
  const binDir = path.join(dataDir, 'bin');
  const binary = path.join(binDir, `ferretdb-${FERRETDB_BUILD}`);
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(binDir, { recursive: true });
  const cached = cacheDir ? path.join(cacheDir, `ferretdb-${FERRETDB_BUILD}`) : undefined;
  if (cached && fs.existsSync(cached)) {
    fs.copyFileSync(cached, binary);
    fs.chmodSync(binary, 0o755);
    return binary;
  }
  const go = goCommand();
  if (!go) {
    throw new LocalDatabaseError(
      'No database is configured and none can be started: set MONGODB_URI to a MongoDB 6+ server, ' +
        `put mongod on the PATH, or install the Go toolchain (go 1.22 or newer) so FerretDB ${FERRETDB_VERSION} can be built into ${binDir}.`,
    );
  }
  log.info({ version: FERRETDB_VERSION }, 'building FerretDB once (about a minute); later starts reuse it');
  process.stderr.write(`Building FerretDB ${FERRETDB_VERSION} with Go into ${binDir} (first start only)...\n`);
  const srcDir = path.join(dataDir, 'build', `ferretdb-${FERRETDB_VERSION}`);
  prepareFerretDbSource(go, srcDir);
  process.stderr.write('  compiling (this takes a minute)...\n');
  const build = spawnSync(go, ['build', '-trimpath', '-o', binary, './cmd/ferretdb'], {
    env: GO_ENV,
    cwd: srcDir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (build.status !== 0) throw new LocalDatabaseError(`building FerretDB failed (go build exit ${build.status})`);
  fs.rmSync(srcDir, { recursive: true, force: true });
  if (cached) {
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.copyFileSync(binary, cached);
  }
  process.stderr.write(`FerretDB built: ${binary}\n`);
  return binary;
}

const GO_ENV = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };

/** Downloads the FerretDB module with Go and writes a patched, buildable copy of it to srcDir. */
export function prepareFerretDbSource(go: string, srcDir: string): void {
  process.stderr.write('  downloading the module...\n');
  fs.mkdirSync(path.dirname(srcDir), { recursive: true });
  const dl = spawnSync(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    env: GO_ENV,
    encoding: 'utf8',
    cwd: path.dirname(srcDir),
  });
  if (dl.status !== 0) {
    throw new LocalDatabaseError(`could not download FerretDB with Go: ${(dl.stderr || dl.stdout).trim()}`);
  }
  const moduleDir = (JSON.parse(dl.stdout) as { Dir?: string }).Dir;
  if (!moduleDir) throw new LocalDatabaseError('go mod download did not report a module directory');
  fs.rmSync(srcDir, { recursive: true, force: true });
  fs.cpSync(moduleDir, srcDir, { recursive: true });
  makeWritable(srcDir);
  fs.writeFileSync(path.join(srcDir, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
  patchFerretDbSource(srcDir);
}

/** The `go` command on the PATH, if any. */
export const goCommand = (): string | undefined => onPath('go');

function makeWritable(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    fs.chmodSync(p, entry.isDirectory() ? 0o755 : 0o644);
    if (entry.isDirectory()) makeWritable(p);
  }
  fs.chmodSync(dir, 0o755);
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts mongod or FerretDB with data under dataDir on a free loopback port. The FerretDB binary
 * lives in <binaryDir>/bin (binaryDir defaults to dataDir), so tests can share the one npm start built.
 */
export async function startLocalDatabase(
  dataDir: string,
  log: Logger,
  options: { ferretDbCacheDir?: string; binaryDir?: string } = {},
): Promise<LocalDatabase> {
  const port = await freePort();
  const mongod = onPath('mongod');
  let child: ChildProcess;
  let kind: LocalDatabase['kind'];
  if (mongod) {
    const dbPath = path.join(dataDir, 'mongod');
    fs.mkdirSync(dbPath, { recursive: true });
    kind = 'mongod';
    child = spawn(mongod, ['--dbpath', dbPath, '--bind_ip', '127.0.0.1', '--port', String(port), '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } else {
    const binary = ensureFerretDbBinary(options.binaryDir ?? dataDir, log, options.ferretDbCacheDir);
    const dbDir = path.join(dataDir, 'ferretdb');
    fs.mkdirSync(dbDir, { recursive: true });
    kind = 'ferretdb';
    child = spawn(
      binary,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dbDir}/`,
        `--listen-addr=127.0.0.1:${port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        `--state-dir=${dbDir}`,
        '--log-level=error',
        // Lets the patched backend push dotted-path equality down to SQLite (see ferretdb-patches/).
        '--test-enable-nested-pushdown',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        // Go's default collects garbage after every 100 % heap growth; FerretDB allocates a lot
        // per returned document, so with its ~25 MB live heap that was a third of a search's CPU.
        // 400 trades ~25 MB more memory for ~40 % more searches per second (bench/README.md).
        env: { ...process.env, GOGC: process.env.GOGC ?? '400' },
      },
    );
  }
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitForPort(port, child, 30_000);
  } catch (err) {
    await stopProcess(child);
    throw new LocalDatabaseError(`${(err as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  log.info({ kind, port }, 'local database started');
  return { uri: `mongodb://127.0.0.1:${port}/`, kind, stop: () => stopProcess(child) };
}
