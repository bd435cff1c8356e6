// When the background materializer may take its next journal document: while the server is busy
// answering requests it waits, so that reads do not pay for the trail while they queue up, but
// never longer than the trail may lag behind. Busy is measured while the materializer itself does
// nothing (during its own wait), as the event loop's utilisation by everything else.
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
 * Resolves when the materializer may go on: at once when the server is quiet, when `oldestAt` (the
 * oldest pending journal document, looked up now and then by the caller) is `maxLagMs` old, or when
 * `cancelled()` says so (a reader waits for the trail, or the server stops).
 */
export async function waitForQuiet(options: PacingOptions, oldestAt: () => Promise<Date | undefined>, cancelled: () => boolean): Promise<void> {
  if (options.busyPercent >= 100) return;
  let oldest: Date | undefined;
  let lookedAt = 0;
  for (;;) {
    const before = performance.eventLoopUtilization();
    await sleep(WINDOW_MS);
    if (performance.eventLoopUtilization(before).utilization * 100 <= options.busyPercent || cancelled()) return;
    // The journal is asked about its oldest document at most every tenth of the allowed lag.
    if (Date.now() - lookedAt >= Math.max(WINDOW_MS, options.maxLagMs / 10)) {
      oldest = await oldestAt();
      lookedAt = Date.now();
      if (!oldest) return;
    }
    if (oldest && Date.now() - oldest.getTime() >= options.maxLagMs) return;
  }
}
