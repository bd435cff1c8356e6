// The local database process (FerretDB or mongod) as the server runs it: tied to the server so that
// it never outlives it, restarted on the same port when it dies (the driver reconnects by itself),
// and given up on, clearly, when it keeps dying.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { LocalDatabaseError } from './local-database-error.ts';

export interface DatabaseCommand {
  kind: 'mongod' | 'ferretdb';
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** The loopback port it listens on: the same after every restart. */
  port: number;
}

export interface DatabaseProcessEvents {
  /** A database process started (or restarted) with this pid; undefined once it is gone. */
  onProcess(pid: number | undefined): void;
  /** Restarting failed too often; the message says what happened. */
  onGiveUp(message: string): void;
}

/** Waits between restarts after the database died; once they are used up, it gives up. */
const RESTART_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000, 15000];
/** A database that ran this long counts as recovered: a later death starts the delays afresh. */
const STABLE_AFTER_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
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

/**
 * Starts a process that the kernel stops (SIGTERM) when the server dies, even by SIGKILL:
 * `setpriv --pdeathsig` (util-linux) sets PR_SET_PDEATHSIG and then executes the command, so
 * FerretDB needs no change and keeps its pid. The signal is tied to the thread that forked:
 * libuv forks from the thread that calls spawn, and that is the main thread, which lives as long
 * as the process. A server killed in the instant between fork and prctl leaves an orphan; so does
 * a system without setpriv (macOS): the data-directory lock stops such an orphan at the next start
 * (data-dir-lock.ts), and the 'exit' handler here covers every exit short of SIGKILL.
 */
export function tiedToServer(command: string, args: string[]): [string, string[]] {
  const setpriv = process.platform === 'linux' ? onPath('setpriv') : undefined;
  return setpriv ? [setpriv, ['--pdeathsig', 'SIGTERM', '--', command, ...args]] : [command, args];
}

/** Starts the command tied to the server (see tiedToServer); it is also stopped when the server exits. */
export function spawnTiedToServer(command: string, args: string[], options: { env?: NodeJS.ProcessEnv }): ChildProcess {
  const [file, argv] = tiedToServer(command, args);
  const child = spawn(file, argv, {
    env: options.env,
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: Ctrl-C in a terminal reaches the server, which stops the database in
    // order, rather than both at once (which would look like a crash to the restart logic).
    detached: true,
  });
  const killOnExit = () => child.kill('SIGTERM');
  process.on('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  child.once('error', () => process.removeListener('exit', killOnExit));
  return child;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (hasExited(child) || child.pid === undefined) return resolve();
    child.once('exit', () => resolve());
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  child.kill('SIGTERM');
  await exited(child);
  clearTimeout(timer);
}

export class DatabaseProcess {
  private child: ChildProcess | undefined;
  private stderr = '';
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private startedAt = 0;
  /** Why the last start failed, in our words only (its stderr may quote stored values). */
  private lastFailure = '';

  constructor(
    private readonly spec: DatabaseCommand,
    private readonly log: Logger,
    private readonly events: DatabaseProcessEvents,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the database and waits until it accepts connections; throws a LocalDatabaseError if it does not. */
  async start(): Promise<void> {
    const child = spawnTiedToServer(this.spec.command, this.spec.args, { env: this.spec.env });
    this.child = child;
    this.stderr = '';
    let running = false;
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    child.once('exit', (code, signal) => {
      if (running) this.died(child, code, signal);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const open = await portOpen(this.spec.port);
      // Checked after the port: a process that died meanwhile must not count as started.
      const failed = spawnError?.message ?? (hasExited(child) ? `exited with code ${child.exitCode ?? child.signalCode}` : undefined);
      if (failed) {
        this.lastFailure = failed;
        throw new LocalDatabaseError(`the local database ${failed}${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
      }
      if (open) break;
      if (Date.now() > deadline) {
        this.lastFailure = 'did not open its port';
        await stopChild(child);
        throw new LocalDatabaseError(`the local database did not open port ${this.spec.port} within ${START_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    running = true;
    this.startedAt = Date.now();
    this.events.onProcess(child.pid);
  }

  private died(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || child !== this.child) return;
    this.events.onProcess(undefined);
    if (Date.now() - this.startedAt >= STABLE_AFTER_MS) this.failures = 0;
    // Never its stderr verbatim: a database error message may quote stored values.
    this.log.error({ kind: this.spec.kind, code, signal }, 'the local database stopped unexpectedly');
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.failures >= RESTART_DELAYS_MS.length) {
      this.events.onGiveUp(
        `the local database (${this.spec.kind}) stopped and could not be restarted after ${this.failures} attempts; giving up`,
      );
      return;
    }
    const delay = RESTART_DELAYS_MS[this.failures++];
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.start().then(
        () => this.log.warn({ kind: this.spec.kind, port: this.spec.port, attempt: this.failures }, 'the local database was restarted'),
        (err: unknown) => {
          const reason = err instanceof LocalDatabaseError ? this.lastFailure : (err as Error).name;
          this.log.error({ kind: this.spec.kind, attempt: this.failures, reason }, 'restarting the local database failed');
          if (!this.stopping) this.scheduleRestart();
        },
      );
    }, delay);
  }

  /** Stops the database (no restarts from now on) and waits for it to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (this.child) await stopChild(this.child);
    this.events.onProcess(undefined);
  }
}
