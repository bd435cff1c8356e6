// Long synchronous work (serialising a large Bundle, walking a page's references) cut into
// slices, with a turn of the event loop between them, so that other requests (health checks,
// reads) are served meanwhile instead of waiting for all of it.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Synchronous work between two turns of the event loop, in milliseconds. */
const SLICE_MS = 8;

export class TimeSlices {
  private sliceStart = performance.now();

  /** Call between units of work: gives other work a turn once the current slice has taken SLICE_MS. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await nextTurn();
    this.sliceStart = performance.now();
  }
}
