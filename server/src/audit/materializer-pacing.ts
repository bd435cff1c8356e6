// When the background materializer may take its next journal document: while the server is busy
// answering requests it waits, so that reads do not pay for the trail while they queue up, but
// never longer than the trail may lag behind. It waits for a short window, while doing nothing
// itself, in which no request was recorded and the event loop was used less than `busyPercent`.
// Both: on a machine whose CPUs are shared, a starved server looks idle to the event loop's
// measure (it waits for the CPU, not in its own code) while requests keep arriving.
// See: https://nodejs.org/api/perf_hooks.html#performanceeventlooputilizationutilization1-utilization2
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long each look at the event loop lasts. */
const WINDOW_MS = 25;

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
): Promise<void> {
  if (options.busyPercent >= 100) return;
  let oldest: Date | undefined;
  let lookedAt = 0;
  for (;;) {
    const before = performance.eventLoopUtilization();
    const recorded = requests();
    await sleep(WINDOW_MS);
    if (cancelled()) return;
    if (requests() === recorded && performance.eventLoopUtilization(before).utilization * 100 <= options.busyPercent) return;
    // The journal is asked about its oldest document at most every tenth of the allowed lag.
    if (Date.now() - lookedAt >= Math.max(WINDOW_MS, options.maxLagMs / 10)) {
      oldest = await oldestAt();
      lookedAt = Date.now();
      if (!oldest) return;
    }
    if (oldest && Date.now() - oldest.getTime() >= options.maxLagMs) return;
  }
}
