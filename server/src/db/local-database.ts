// Brings up the local database when MONGODB_URI is not set: `mongod` from the PATH if there is
// one, otherwise FerretDB 1.24.2 (SQLite backend) built once with Go into <dataDir>/bin.
// See docs/design.md "Local and CI database".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { DatabaseProcess, onPath, tiedToServer, type DatabaseCommand } from './database-process.ts';
import { LocalDatabaseError } from './local-database-error.ts';

export { LocalDatabaseError };

export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/**
 * The oldest Go that builds FerretDB 1.24: the `go` line of its go.mod (checked again against the
 * downloaded go.mod). The build runs with GOTOOLCHAIN=local, so an older Go is not replaced by a
 * downloaded one; it would fail half-way with a message about go.mod.
 */
export const FERRETDB_GO_VERSION = '1.24';
/** Bumped whenever the local patches below change, so an older build is not reused. */
export const FERRETDB_BUILD = `${FERRETDB_VERSION}-hr12`;

/**
 * Performance fixes to FerretDB 1.24 (SQLite backend), applied to the module source before it is
 * built. Results are unchanged: see the Go files in ferretdb-patches/ for why, and
 * `npm run check:ferretdb` for the Go tests that cross-check the decoder.
 * 1. It looks documents up by `_ferretdb_sjson->'$._id'` but indexes them by
 *    `_ferretdb_sjson->"_id"`; SQLite matches expression indexes by their text, so every lookup,
 *    update and delete by _id scanned the table. The lookup is written as the index is.
 * 2. It pushes down nothing but a lone _id, so every other query decoded the whole collection in
 *    Go (seconds for a patient's lab results at a few thousand documents). Equality on top-level
 *    fields, such as the `patient` partition key, and string ranges on them (the search lookup
 *    keys' prefix matches) are pushed down to SQLite and its indexes (sqlite_pushdown_hr.go).
 * 3. Its stored-document decoder re-parsed every nested value with a new encoding/json decoder;
 *    sjson_fast_hr.go decodes in one pass and parses each distinct schema once (4x the throughput
 *    of a patient's lab-results search). The original decoder still handles anything unusual.
 * 4. Release builds tracked every iterator for leak reports (a stack walk and a finalizer each,
 *    a fifth of the CPU time of a search); like debug stacks, that is now for debug builds only.
 * 5. Its projection deep-copied the whole document, then what it had projected once per included
 *    field; a projection of top-level fields (every search's) copies each of them once
 *    (projection_hr.go).
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

  const commonDir = path.join(srcDir, 'internal/handler/common');
  replaceOnce(
    path.join(commonDir, 'projection.go'),
    'projectedWithoutID, err := projectDocumentWithoutID(doc, projection, filter, inclusion)',
    'projectedWithoutID, err := hrProjectDocumentWithoutID(doc, projection, filter, inclusion)',
  );
  fs.copyFileSync(path.join(PATCH_DIR, 'projection_hr.go'), path.join(commonDir, 'projection_hr.go'));

  const resourceFile = path.join(srcDir, 'internal/util/resource/resource.go');
  for (const fn of ['Track', 'Untrack']) {
    const head = `func ${fn}(obj any, token *Token) {\n\tcheckArgs(obj, token)\n`;
    replaceOnce(resourceFile, head, `${head}\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n`);
  }
}

export interface LocalDatabase {
  uri: string;
  kind: 'mongod' | 'ferretdb';
  /** Stops the database process (no more restarts), waits for it to exit, and frees the data directory. */
  stop(): Promise<void>;
  /**
   * Called once if the database keeps dying and cannot be restarted (at once if that already
   * happened); the server cannot serve without it.
   */
  onGiveUp(listener: (message: string) => void): void;
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
        `put mongod on the PATH, or install the Go toolchain (Go ${FERRETDB_GO_VERSION} or newer) so FerretDB ${FERRETDB_VERSION} can be built into ${binDir}.`,
    );
  }
  assertGoBuildsFerretDb(go, FERRETDB_GO_VERSION);
  // Progress for the person at the terminal, all on stderr (unbuffered) so that it appears in order;
  // pino's buffered log lines could arrive after the build's own messages.
  const started = Date.now();
  process.stderr.write(`Building FerretDB ${FERRETDB_VERSION} with Go into ${binDir} (first start only; a few minutes)...\n`);
  const srcDir = path.join(dataDir, 'build', `ferretdb-${FERRETDB_VERSION}`);
  prepareFerretDbSource(go, srcDir);
  process.stderr.write('  compiling...\n');
  const [file, args] = tiedToServer(go, ['build', '-trimpath', '-o', binary, './cmd/ferretdb']);
  const build = spawnSync(file, args, {
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
  const seconds = Math.round((Date.now() - started) / 1000);
  process.stderr.write(`FerretDB built in ${seconds} s: ${binary}\n`);
  log.info({ version: FERRETDB_VERSION, seconds }, 'built FerretDB');
  return binary;
}

/** "1.24.3" → [1, 24, 3] */
const versionParts = (v: string) => v.split('.').map((n) => Number.parseInt(n, 10) || 0);

function versionAtLeast(version: string, minimum: string): boolean {
  const [a, b] = [versionParts(version), versionParts(minimum)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** Throws a LocalDatabaseError saying what is needed when `go` is older than `minimum`. */
function assertGoBuildsFerretDb(go: string, minimum: string): void {
  const out = spawnSync(go, ['version'], { env: GO_ENV, encoding: 'utf8' });
  const found = /\bgo(\d+(?:\.\d+)*)/.exec(out.stdout ?? '')?.[1];
  if (found && versionAtLeast(found, minimum)) return;
  throw new LocalDatabaseError(
    `FerretDB ${FERRETDB_VERSION} needs Go ${minimum} or newer to build, but ${go} is ${found ? `Go ${found}` : 'a Go whose version could not be read'}. ` +
      `Install Go ${minimum}+ (https://go.dev/dl/), put mongod on the PATH, or set MONGODB_URI to a MongoDB 6+ server.`,
  );
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
  const needs = /^go (\S+)/m.exec(fs.readFileSync(path.join(srcDir, 'go.mod'), 'utf8'))?.[1];
  if (needs) assertGoBuildsFerretDb(go, needs);
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

/** The command line of mongod, or of FerretDB (built or copied first), with data under dataDir. */
function databaseCommand(
  dataDir: string,
  port: number,
  log: Logger,
  options: { ferretDbCacheDir?: string; binaryDir?: string },
): DatabaseCommand {
  const mongod = onPath('mongod');
  if (mongod) {
    const dbPath = path.join(dataDir, 'mongod');
    fs.mkdirSync(dbPath, { recursive: true });
    return { kind: 'mongod', command: mongod, args: ['--dbpath', dbPath, '--bind_ip', '127.0.0.1', '--port', String(port), '--quiet'], port };
  }
  const binary = ensureFerretDbBinary(options.binaryDir ?? dataDir, log, options.ferretDbCacheDir);
  const dbDir = path.join(dataDir, 'ferretdb');
  fs.mkdirSync(dbDir, { recursive: true });
  return {
    kind: 'ferretdb',
    command: binary,
    args: [
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
    // Go's default collects garbage after every 100 % heap growth; FerretDB allocates a lot
    // per returned document, so with its ~25 MB live heap that was a third of a search's CPU.
    // 400 trades ~25 MB more memory for ~40 % more searches per second (bench/README.md).
    env: { ...process.env, GOGC: process.env.GOGC ?? '400' },
    port,
  };
}

/**
 * Starts mongod or FerretDB with data under dataDir on a free loopback port, holding the data
 * directory's lock (one server per directory) and restarting the database on the same port if it
 * dies. The FerretDB binary lives in <binaryDir>/bin (binaryDir defaults to dataDir), so tests can
 * share the one npm start built.
 */
export async function startLocalDatabase(
  dataDir: string,
  log: Logger,
  options: { ferretDbCacheDir?: string; binaryDir?: string } = {},
): Promise<LocalDatabase> {
  const lock = await DataDirLock.acquire(dataDir, log);
  let giveUpMessage: string | undefined;
  let giveUpListener: ((message: string) => void) | undefined;
  try {
    const port = await freePort();
    const command = databaseCommand(dataDir, port, log, options);
    const database = new DatabaseProcess(command, log, {
      onProcess: (pid) => lock.recordDatabase(pid, pid === undefined ? undefined : `mongodb://127.0.0.1:${port}/`),
      onGiveUp: (message) => {
        giveUpMessage = message;
        log.fatal({ kind: command.kind }, message);
        giveUpListener?.(message);
      },
    });
    await database.start();
    log.info({ kind: command.kind, port }, 'local database started');
    return {
      uri: `mongodb://127.0.0.1:${port}/`,
      kind: command.kind,
      async stop() {
        await database.stop();
        lock.release();
      },
      onGiveUp(listener) {
        giveUpListener = listener;
        if (giveUpMessage) listener(giveUpMessage);
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
