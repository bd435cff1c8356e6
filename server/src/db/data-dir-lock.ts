// One server per data directory. Two databases on the same files corrupt each other's view of
// them, so the server that runs the local database holds <dataDir>/server.lock, naming itself and
// the database process it runs. A second server on the directory stops with a message naming the
// first. A lock whose server is gone (killed with SIGKILL, power cut) is taken over; if its database
// is still running (it could not be tied to its server, see database-process.ts), it is stopped first.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { LocalDatabaseError } from './local-database-error.ts';
import { canTellProcessesApart, identityOf, isRunning, type ProcessIdentity } from './process-identity.ts';

const LOCK_FILE = 'server.lock';
/** How long a starting server waits for another one that is taking over the same stale lock. */
const GUARD_WAIT_MS = 20_000;
/** A takeover guard older than this was left by a server that died while taking over. */
const GUARD_STALE_MS = 30_000;
/** How long an orphaned database gets to stop on SIGTERM before it is killed. */
const ORPHAN_STOP_MS = 10_000;

interface LockRecord {
  /** The server process that runs the local database on this directory. */
  server: ProcessIdentity;
  /** The database process it runs now (a restarted database has a new one). */
  database?: ProcessIdentity;
  /** Where that database listens (mongodb://127.0.0.1:port/): command-line tools connect to it. */
  uri?: string;
  since: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readRecord(file: string): LockRecord | 'absent' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  try {
    const record = JSON.parse(text) as LockRecord;
    return Number.isInteger(record?.server?.pid) ? record : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Writes the record under a temporary name first, so that nobody ever reads half a lock. */
function writeTemp(file: string, record: LockRecord): string {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(record)}\n`);
  return temp;
}

/** Creates the lock file if there is none (link(2) fails when the name exists: atomic). */
function tryCreate(file: string, record: LockRecord): boolean {
  const temp = writeTemp(file, record);
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

async function stopOrphan(database: ProcessIdentity, dataDir: string, log: Logger): Promise<void> {
  if (!canTellProcessesApart(database)) {
    // Without /proc a reused pid cannot be told from the database: better ask than kill a stranger.
    throw new LocalDatabaseError(
      `process ${database.pid} may be a database left running on ${dataDir} by a server that was killed; stop it, then start again`,
    );
  }
  log.warn({ pid: database.pid }, 'stopping a local database left running by a server that was killed');
  process.kill(database.pid, 'SIGTERM');
  const deadline = Date.now() + ORPHAN_STOP_MS;
  while (isRunning(database) && Date.now() < deadline) await sleep(100);
  if (isRunning(database)) process.kill(database.pid, 'SIGKILL');
  while (isRunning(database)) await sleep(50);
}

/**
 * Runs `action` while holding a guard directory next to the lock (mkdir(2) is atomic), so that of
 * two servers finding the same abandoned lock only one takes it over.
 */
async function withTakeoverGuard(file: string, action: () => Promise<void>): Promise<void> {
  const guard = `${file}.takeover`;
  const deadline = Date.now() + GUARD_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(guard);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (fs.statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > GUARD_STALE_MS) fs.rmSync(guard, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new LocalDatabaseError(`another server is taking over ${path.dirname(file)}; try again`);
      else await sleep(100);
    }
  }
  try {
    await action();
  } finally {
    fs.rmSync(guard, { recursive: true, force: true });
  }
}

export class DataDirLock {
  private released = false;
  private readonly releaseOnExit = () => this.release();

  private constructor(
    private readonly file: string,
    private record: LockRecord,
  ) {
    // process.exit() and uncaught errors also let go of the lock (SIGKILL cannot; see above).
    process.on('exit', this.releaseOnExit);
  }

  /** Takes the data directory for this process, or throws a LocalDatabaseError naming its user. */
  static async acquire(dataDir: string, log: Logger): Promise<DataDirLock> {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, LOCK_FILE);
    const record: LockRecord = { server: identityOf(process.pid), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryCreate(file, record)) return new DataDirLock(file, record);
      const found = readRecord(file);
      if (found === 'absent') continue;
      if (found !== 'unreadable' && isRunning(found.server)) {
        throw new LocalDatabaseError(
          `the data directory ${dataDir} is in use by process ${found.server.pid} (a server running since ${found.since}); ` +
            'stop that server first, or give this one another DATA_DIR',
        );
      }
      await withTakeoverGuard(file, async () => {
        const again = readRecord(file);
        if (JSON.stringify(again) !== JSON.stringify(found)) return; // changed meanwhile: look again
        if (found !== 'unreadable' && found.database && isRunning(found.database)) await stopOrphan(found.database, dataDir, log);
        fs.rmSync(file, { force: true });
        log.info({ previousServer: found === 'unreadable' ? null : found.server.pid }, 'took over the lock of a server that is gone');
      });
    }
    throw new LocalDatabaseError(`could not lock the data directory ${dataDir}`);
  }

  /** Notes the database process now running (or none), so a later takeover can stop an orphan. */
  recordDatabase(pid: number | undefined, uri?: string): void {
    if (this.released) return;
    this.record = { ...this.record, database: pid === undefined ? undefined : identityOf(pid), uri: pid === undefined ? undefined : uri };
    fs.renameSync(writeTemp(this.file, this.record), this.file);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.releaseOnExit);
    const found = readRecord(this.file);
    if (typeof found === 'object' && found.server.pid === process.pid) fs.rmSync(this.file, { force: true });
  }
}

/**
 * The address of the local database a running server holds on `dataDir`, or undefined when no
 * server runs there: `npm run admin` and `npm run seed` then share the server's database.
 */
export function runningDatabaseUri(dataDir: string): string | undefined {
  const found = readRecord(path.join(dataDir, LOCK_FILE));
  if (typeof found !== 'object' || !isRunning(found.server)) return undefined;
  return found.database && isRunning(found.database) ? found.uri : undefined;
}
