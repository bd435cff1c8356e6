// The audit trail's writer: records are queued on the request path (a push, nothing else) and
// written to the audit journal in batches, off the request path: every `flushMs`, or at once when
// a batch's worth of events is waiting; one journal document per batch (audit-journal.ts), one
// insert at a time. The materializer (audit-materializer.ts) turns journal documents into
// AuditEvents in the background; settle() makes everything recorded so far searchable first.
//
// When the database refuses writes, the batch is kept (as the same journal document, so a retry
// stores nothing twice) and retried with a growing pause. The queue is bounded (`queueLimit`
// records); while it is full, FHIR interactions are refused with 503 (audited-interaction.ts asks
// accepting()), so no access goes unrecorded. Records that still arrive then (sign-ins, token
// requests) are counted, logged, and once writing works again the trail itself records how many
// were lost and when. close() writes everything queued before the database is closed (a clean
// shutdown loses nothing: what is in the journal is materialized by whichever server runs next).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';
import { journalDocument, type AuditJournalStore, type JournalDocument } from './audit-journal.ts';
import type { AuditRecord, AuditRecorder } from './audit-record.ts';

export interface AuditTrailOptions {
  /** How long a record may wait before its batch is written. */
  flushMs: number;
  /** Events per journal document (estimated from the records); a full batch is written at once. */
  batchSize: number;
  /** Records the queue holds at most (see above for what happens when it is full). */
  queueLimit: number;
}

/** Makes the journal searchable (the materializer): everything written to it up to a moment. */
export interface JournalSettler {
  settle(upTo: Date): Promise<void>;
}

/** Longest pause between two attempts to write while the database refuses. */
const MAX_RETRY_MS = 5_000;
/** How long close() keeps trying to write what is queued before giving up. */
const CLOSE_DEADLINE_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class AuditTrail implements AuditRecorder {
  private queue: AuditRecord[] = [];
  /** Built and not yet stored (kept for retries, with the same id). */
  private pending?: JournalDocument;
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private retryMs = 0;
  private lost?: { count: number; from: Date; to: Date };
  private closing = false;
  /** Records taken so far (the materializer's pacing watches it). */
  recorded = 0;
  /** Told when a journal document was written (the materializer starts on it at once). */
  onAppend?: () => void;

  constructor(
    private readonly journal: AuditJournalStore,
    private readonly settler: JournalSettler | undefined,
    private readonly options: AuditTrailOptions,
    private readonly log: Logger,
  ) {}

  accepting(): boolean {
    return this.queue.length < this.options.queueLimit;
  }

  record(record: AuditRecord): void {
    this.recorded++;
    if (!this.accepting()) {
      if (!this.lost) {
        this.lost = { count: 0, from: record.at, to: record.at };
        this.log.error({ queued: this.queue.length }, 'audit queue full: records are being lost until the database takes writes again');
      }
      this.lost.count++;
      this.lost.to = record.at;
      return;
    }
    this.queue.push(record);
    this.schedule();
  }

  /** Records waiting to be written (for tests and health reporting). */
  get backlog(): number {
    return this.queue.length + (this.pending?.records.length ?? 0);
  }

  /** Writes everything queued now (tests, shutdown); resolves once the queue is empty or writing fails. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.draining) await this.draining;
    if (this.backlog > 0) await (this.draining = this.drain(true).finally(() => (this.draining = undefined)));
  }

  /**
   * Makes everything recorded before this call searchable as AuditEvents: this server's queue is
   * written to the journal, then the journal materialized up to now (readers of the trail call it
   * first, so "who accessed my record" shows an access made a moment ago).
   */
  async settle(): Promise<void> {
    await this.flush();
    // Taken after the flush: the journal document it wrote is stamped with the time it was built.
    await this.settler?.settle(new Date());
  }

  /** Stops the timer and writes what is queued, trying for a while if the database refuses. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + CLOSE_DEADLINE_MS;
    while (this.backlog > 0 && Date.now() < deadline) {
      await this.flush().catch(() => undefined);
      if (this.backlog > 0) await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
    }
    if (this.backlog > 0) this.log.error({ records: this.backlog }, 'audit records could not be written before shutdown');
  }

  private schedule(): void {
    if (this.draining || this.closing) return;
    if (this.queue.length >= this.options.batchSize) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.startDrain();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.startDrain();
      }, this.options.flushMs);
    }
  }

  private startDrain(): void {
    this.draining = this.drain(false)
      .catch((err: unknown) => this.log.error({ err: { name: (err as Error).name } }, 'audit trail writer failed'))
      .finally(() => {
        this.draining = undefined;
        // Records that arrived while writing wait for the next flush (or go at once if a batch is full).
        if (this.queue.length > 0) this.schedule();
      });
  }

  /**
   * Writes what is queued: everything when `once` (flush, close), else the batch due and further
   * ones only while a full batch waits — records that arrive while a batch is written wait for the
   * next flush, so that journal documents hold a flush interval's records, not the few that came
   * during one write. On a refused write, waits and retries (or, once, returns).
   */
  private async drain(once: boolean): Promise<void> {
    let due = true;
    while (this.pending || (this.queue.length > 0 && (once || due || this.queue.length >= this.options.batchSize))) {
      if (!this.pending) {
        this.pending = this.build();
        due = false;
      }
      try {
        await this.journal.append(this.pending);
      } catch (err) {
        this.retryMs = Math.min(MAX_RETRY_MS, Math.max(this.options.flushMs, this.retryMs * 2));
        this.log.error({ err: { name: (err as Error).name }, records: this.backlog, retryMs: this.retryMs }, 'writing audit events failed; will retry');
        if (once || this.closing) throw err;
        await sleep(this.retryMs);
        continue;
      }
      this.retryMs = 0;
      this.pending = undefined;
      this.onAppend?.();
      if (this.lost) {
        this.queue.unshift({ kind: 'gap', at: new Date(), lost: this.lost.count, from: this.lost.from, to: this.lost.to });
        this.lost = undefined;
      }
    }
  }

  /** Takes records off the queue up to a batch of events: the next journal document. */
  private build(): JournalDocument {
    const records: AuditRecord[] = [];
    let estimate = 0;
    while (this.queue.length > 0 && estimate < this.options.batchSize) {
      const r = this.queue.shift()!;
      records.push(r);
      estimate += r.kind === 'rest' ? Math.max(1, r.patients.length) : 1;
    }
    return journalDocument(randomUUID(), records);
  }
}

/** Records nothing (AUDIT_ENABLED=false, for benchmarks): every interaction proceeds. */
export const NO_AUDIT: AuditRecorder = { record: () => undefined, accepting: () => true, settle: async () => undefined };
