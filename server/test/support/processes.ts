// The processes a test started, as the operating system sees them (Linux /proc): which exist,
// which descend from which, and their command lines. Tests that kill servers use these to see
// what is left behind.
import fs from 'node:fs';

export const hasProcFs = fs.existsSync('/proc/self/stat');

export interface ProcessInfo {
  pid: number;
  ppid: number;
  command: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // exited, not yet reaped
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(fields[1]), command };
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcessInfo[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => readProcess(Number(name)) ?? []);
}

/** The process's children, grandchildren and so on. */
export function descendantsOf(pid: number): ProcessInfo[] {
  const all = allProcesses();
  const out: ProcessInfo[] = [];
  const walk = (parent: number) => {
    for (const p of all.filter((q) => q.ppid === parent)) {
      out.push(p);
      walk(p.pid);
    }
  };
  walk(pid);
  return out;
}

/** Running processes whose command line mentions the text (e.g. a test's data directory). */
export function processesMentioning(text: string): ProcessInfo[] {
  return allProcesses().filter((p) => p.pid !== process.pid && p.command.includes(text));
}

export function isAlive(pid: number): boolean {
  return readProcess(pid) !== undefined;
}

/** Polls until the condition holds; false when it did not within the time. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** SIGKILL for whatever a test leaves behind (by pid, never by name). */
export function killQuietly(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
