// When the background materializer may take its next journal document: while the server is busy
// answering requests it waits, so that reads do not pay for the trail while they queue up, but
// never longer than the trail may lag behind. It goes on once QUIET_MS have passed, watched in short
// windows while it does nothing itself, without a request recorded and with the event loop used
// less than `busyPercent`. Both, and for a while: on a machine whose CPUs are shared, a starved
// server looks idle to the event loop's measure (it waits for the CPU, not in its own code), and
// under load a single window without a request happens whenever the process was not scheduled.
// See: https://nodejs.org/api/perf_hooks.html#performanceeventlooputilizationutilization1-utilization2
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long each look at the event loop lasts. */
const WINDOW_MS = 25;
/** How long the server must have been quiet (no busy window) before the next document. */
const QUIET_MS = 100;

export interface PacingState {
  busyAt: number;
  requests: number;
}

export interface PacingOptions {
  /** Event-loop use (percent) above which the server counts as busy; 100: never wait. */
  busyPercent: number;
  /** Longest the oldest journal document may wait; past that, no more waiting. */
  maxLagMs: number;
}

/**
 * Resolves when the materializer may go on: when the server is quiet, when `oldestAt` (the
 * oldest pending journal document, looked up now and then by the caller) is `maxLagMs` old, or when
 * `cancelled()` says so (a reader waits for the trail, or the server stops).
 */
export async function waitForQuiet(
  options: PacingOptions,
  oldestAt: () => Promise<Date | undefined>,
  cancelled: () => boolean,
  /** A count of the requests recorded so far (it only grows). */
  requests: () => number = () => 0,
  /** When a busy window was last seen and the request count then, kept by the caller across calls. */
  state: PacingState = { busyAt: 0, requests: 0 },
): Promise<void> {
  if (options.busyPercent >= 100) return;
  // Requests recorded since the last call (while the materializer worked) count as busy too.
  if (requests() !== state.requests) state.busyAt = Date.now();
  let oldest: Date | undefined;
  let lookedAt = 0;
  for (;;) {
    const before = performance.eventLoopUtilization();
    const recorded = requests();
    await sleep(WINDOW_MS);
    if (cancelled()) return;
    state.requests = requests();
    if (state.requests !== recorded || performance.eventLoopUtilization(before).utilization * 100 > options.busyPercent) state.busyAt = Date.now();
    else if (Date.now() - state.busyAt >= QUIET_MS) return;
    // The journal is asked about its oldest document at most every tenth of the allowed lag.
    if (Date.now() - lookedAt >= Math.max(WINDOW_MS, options.maxLagMs / 10)) {
      oldest = await oldestAt();
      lookedAt = Date.now();
      if (!oldest) return;
    }
    if (oldest && Date.now() - oldest.getTime() >= options.maxLagMs) return;
  }
}
