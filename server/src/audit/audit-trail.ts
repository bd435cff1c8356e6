// The audit trail's writer: records are queued on the request path (a push, nothing else) and
// written as AuditEvents in batches, off the request path: every `flushMs`, or at once when
// `batchSize` events are waiting; one bulk write at a time, built in time slices so that the
// event loop keeps serving requests meanwhile.
//
// When the database refuses writes, the batch is kept (with its ids, so a retry stores nothing
// twice) and retried with a growing pause. The queue is bounded (`queueLimit` records); while it
// is full, FHIR interactions are refused with 503 (audited-interaction.ts asks accepting()), so no
// access goes unrecorded. Records that still arrive then (sign-ins, token requests) are counted,
// logged, and once writing works again the trail itself records how many were lost and when.
// close() writes everything queued before the database is closed (a clean shutdown loses nothing).
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from 'fhir/r4';
import type { Logger } from '../logger.ts';
import type { CurrentDocument } from '../fhir/repo/stored-document.ts';
import { TimeSlices } from '../fhir/time-slices.ts';
import { auditEventsOf, type AuditContext } from './audit-event-builder.ts';
import type { AuditRecord, AuditRecorder } from './audit-record.ts';

export interface AuditTrailOptions {
  /** How long a record may wait before its batch is written. */
  flushMs: number;
  /** Events per bulk write; a full batch is written at once. */
  batchSize: number;
  /** Records the queue holds at most (see above for what happens when it is full). */
  queueLimit: number;
}

/** Where AuditEvents are stored: the resource repository (stored like any resource, version 1). */
export interface AuditStore {
  buildDocument(resource: AuditEvent, id: string): CurrentDocument;
  insert(docs: CurrentDocument[]): Promise<void>;
}

/** Names the builder shows: OAuth clients and the FHIR resources of accounts (looked up off the request path). */
export interface AuditDirectory {
  clientName(clientId: string): Promise<string | undefined>;
  accountFhirUser(accountId: string): Promise<string | undefined>;
}

/** Longest pause between two attempts to write while the database refuses. */
const MAX_RETRY_MS = 5_000;
/** How long close() keeps trying to write what is queued before giving up. */
const CLOSE_DEADLINE_MS = 15_000;
/** Looked-up names are kept this long (a renamed client shows its new name within a minute). */
const NAME_TTL_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class AuditTrail implements AuditRecorder {
  private queue: AuditRecord[] = [];
  /** Built and not yet stored (kept for retries, with the same ids). */
  private pending: CurrentDocument[] = [];
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private retryMs = 0;
  private lost?: { count: number; from: Date; to: Date };
  private closing = false;
  private readonly names = new Map<string, { value: string | undefined; at: number }>();

  constructor(
    private readonly store: AuditStore,
    private readonly directory: AuditDirectory,
    private readonly baseUrl: string,
    private readonly options: AuditTrailOptions,
    private readonly log: Logger,
  ) {}

  accepting(): boolean {
    return this.queue.length < this.options.queueLimit;
  }

  record(record: AuditRecord): void {
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
    return this.queue.length + this.pending.length;
  }

  /** Writes everything queued now (tests, shutdown); resolves once the queue is empty or writing fails. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.draining) await this.draining;
    if (this.backlog > 0) await (this.draining = this.drain(true).finally(() => (this.draining = undefined)));
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

  /** Writes batches until the queue is empty; on a refused write, waits and retries (or, once, returns). */
  private async drain(once: boolean): Promise<void> {
    while (this.backlog > 0) {
      if (this.pending.length === 0) this.pending = await this.build();
      try {
        await this.store.insert(this.pending);
      } catch (err) {
        this.retryMs = Math.min(MAX_RETRY_MS, Math.max(this.options.flushMs, this.retryMs * 2));
        this.log.error({ err: { name: (err as Error).name }, records: this.backlog, retryMs: this.retryMs }, 'writing audit events failed; will retry');
        if (once || this.closing) throw err;
        await sleep(this.retryMs);
        continue;
      }
      this.retryMs = 0;
      this.pending = [];
      if (this.lost) {
        this.queue.unshift({ kind: 'gap', at: new Date(), lost: this.lost.count, from: this.lost.from, to: this.lost.to });
        this.lost = undefined;
      }
    }
  }

  /** Takes records off the queue up to a batch of events, and builds their stored documents in slices. */
  private async build(): Promise<CurrentDocument[]> {
    const records: AuditRecord[] = [];
    let estimate = 0;
    while (this.queue.length > 0 && estimate < this.options.batchSize) {
      const r = this.queue.shift()!;
      records.push(r);
      estimate += r.kind === 'rest' ? Math.max(1, r.patients.length) : 1;
    }
    const ctx = await this.context(records);
    const slices = new TimeSlices();
    const docs: CurrentDocument[] = [];
    for (const record of records) {
      for (const event of auditEventsOf(record, ctx)) {
        docs.push(this.store.buildDocument(event, randomUUID()));
        await slices.pause();
      }
    }
    return docs;
  }

  /** Resolves the client names and account resources the records name (cached for a minute). */
  private async context(records: AuditRecord[]): Promise<AuditContext> {
    const wanted = new Set<string>();
    for (const r of records) {
      const clientId = r.kind === 'rest' || r.kind === 'token' ? r.actor.clientId : r.kind === 'account' ? r.clientId : undefined;
      if (clientId) wanted.add(`client:${clientId}`);
      const accounts = r.kind === 'account' ? [r.accountId, r.actorAccountId] : r.kind === 'token' || r.kind === 'rest' ? [r.actor.fhirUser ? undefined : r.actor.accountId] : [];
      for (const a of accounts) if (a) wanted.add(`account:${a}`);
    }
    const now = Date.now();
    if (this.names.size > 10_000) this.names.clear();
    await Promise.all(
      [...wanted]
        .filter((key) => (this.names.get(key)?.at ?? 0) + NAME_TTL_MS < now)
        .map(async (key) => {
          const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
          const value = await (kind === 'client' ? this.directory.clientName(id) : this.directory.accountFhirUser(id)).catch(() => undefined);
          this.names.set(key, { value, at: now });
        }),
    );
    return {
      baseUrl: this.baseUrl,
      clientName: (id) => this.names.get(`client:${id}`)?.value,
      accountFhirUser: (id) => this.names.get(`account:${id}`)?.value,
    };
  }
}

/** Records nothing (AUDIT_ENABLED=false, for benchmarks): every interaction proceeds. */
export const NO_AUDIT: AuditRecorder = { record: () => undefined, accepting: () => true };
