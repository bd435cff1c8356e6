// Which process a pid names. A pid alone is not enough to decide that a process recorded in a lock
// file is still the one that wrote it: after a crash or a reboot the pid may belong to another
// program. On Linux a process's start time (and the boot it started in) tells them apart.
// See: https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html (field 22, starttime)
import fs from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot; absent where there is no /proc. */
  startTime?: string;
  /** The boot the process started in (/proc/sys/kernel/random/boot_id); absent without /proc. */
  bootId?: string;
}

function readBootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function identityOf(pid: number): ProcessIdentity {
  const startTime = startTimeOf(pid);
  const bootId = readBootId();
  return { pid, ...(startTime ? { startTime } : {}), ...(bootId ? { bootId } : {}) };
}

/** Whether the process still runs (and, where that can be told, is the same process). */
export function isRunning(identity: ProcessIdentity): boolean {
  try {
    process.kill(identity.pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = identityOf(identity.pid);
  if (identity.bootId && now.bootId && identity.bootId !== now.bootId) return false;
  if (identity.startTime && now.startTime && identity.startTime !== now.startTime) return false;
  return true;
}

/** Whether running() can be trusted not to mistake a reused pid for the recorded process. */
export const canTellProcessesApart = (identity: ProcessIdentity): boolean => identity.startTime !== undefined && identity.bootId !== undefined;
