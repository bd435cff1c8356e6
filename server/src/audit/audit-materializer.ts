// Turns audit journal documents (audit-journal.ts) into the searchable AuditEvents of the trail,
// in the background and on demand:
// - In the background it takes one journal document at a time (the oldest first), claims it with a
//   lease, builds its AuditEvents in steps of `stepRecords` records (one bulk insert each, a turn of
//   the event loop between them), then deletes the document. Before each document it waits while
//   the server is busy with requests (materializer-pacing.ts), but never once the oldest document is
//   `maxLagMs` old: under sustained load the trail lags by about that much and no more.
// - settle(upTo) does the same at once, for everything written to the journal up to a moment, and
//   waits for documents others hold; readers of the trail call it (through AuditTrail.settle) first.
// Every AuditEvent's id is derived from its place in the journal (audit-event-ids.ts) and the store
// keeps what an earlier attempt wrote: a claimer that stopped half-way or a lease that ran out
// while its claimer still worked leads to the same events once, never twice.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditEvent } from 'fhir/r4';
import type { AuditMaterializeConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { CurrentDocument } from '../fhir/repo/stored-document.ts';
import { TimeSlices } from '../fhir/time-slices.ts';
import { auditEventsOf } from './audit-event-builder.ts';
import { auditEventId } from './audit-event-ids.ts';
import type { AuditJournalStore, JournalDocument } from './audit-journal.ts';
import type { AuditNames } from './audit-names.ts';
import type { JournalSettler } from './audit-trail.ts';
import { waitForQuiet, type PacingState } from './materializer-pacing.ts';

/** Where AuditEvents are stored: the resource repository (stored like any resource, version 1, unversioned). */
export interface AuditStore {
  buildDocument(resource: AuditEvent, id: string, lastUpdated: Date): CurrentDocument;
  /** Inserts new documents; ones whose id is stored already (an earlier attempt) are left as they are. */
  insert(docs: CurrentDocument[]): Promise<void>;
}

/** How often settle() looks again at a document another claimer holds. */
const SETTLE_POLL_MS = 20;
/** How long settle() waits beyond a lease before giving up (the claimer's writes keep failing). */
const SETTLE_GRACE_MS = 5_000;
/** Pause after a failed background attempt (the database refuses), before the next. */
const FAILURE_PAUSE_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The trail cannot be made current within its lease (settle()'s callers answer 503). */
export class AuditSettleTimeout extends Error {
  override name = 'AuditSettleTimeout';
}

export class AuditMaterializer implements JournalSettler {
  private stopped = true;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private woken = false;
  /** Readers waiting for the trail: the background loop stops pacing for them. */
  private settling = 0;
  private settleRun?: Promise<void>;
  /** How many requests the server has recorded so far (the trail counts them): any in a window means busy. */
  requests: () => number = () => 0;
  private readonly pacing: PacingState = { busyAt: 0, requests: 0 };
  private nextSettle?: Promise<void>;

  constructor(
    private readonly journal: AuditJournalStore,
    private readonly store: AuditStore,
    private readonly names: AuditNames,
    /** This server's name in the journal's claims. */
    private readonly owner: string,
    private readonly options: AuditMaterializeConfig,
    private readonly log: Logger,
  ) {}

  /** Starts the background loop (documents left by earlier runs or other servers included). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** A journal document was written: look at once instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops the background loop after its current step; a document it held is given back to anyone. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  /**
   * Materializes every journal document written at or before `upTo`: claims what it can, waits for
   * what others hold (their lease ends at the latest). One run at a time; callers that arrive
   * meanwhile share the next run, which covers them all (it starts after the last of them came).
   */
  settle(upTo: Date): Promise<void> {
    if (!this.settleRun) {
      this.settleRun = this.settleNow(upTo).finally(() => (this.settleRun = undefined));
      return this.settleRun;
    }
    this.nextSettle ??= this.settleRun
      .catch(() => undefined)
      .then(() => {
        this.nextSettle = undefined;
        return this.settle(new Date());
      });
    return this.nextSettle;
  }

  private async settleNow(upTo: Date): Promise<void> {
    this.settling++;
    try {
      const deadline = Date.now() + this.options.leaseMs + SETTLE_GRACE_MS;
      for (;;) {
        const doc = await this.journal.claim(this.owner, this.options.leaseMs, upTo);
        if (doc) {
          await this.materialize(doc, () => false);
          continue;
        }
        const held = await this.journal.oldest(upTo);
        if (!held) return;
        if (Date.now() > deadline) throw new AuditSettleTimeout(`journal document ${held._id} stayed claimed past its lease`);
        await sleep(SETTLE_POLL_MS);
      }
    } finally {
      this.settling--;
    }
  }

  private async run(): Promise<void> {
    // Once a document as old as the lag limit was taken, the next ones go without waiting until the
    // journal is younger than that again (catching up must outpace the requests' new documents).
    let behind = false;
    while (!this.stopped) {
      let didOne = false;
      try {
        if (!behind) await waitForQuiet(this.options, async () => (await this.journal.oldest())?.at, () => this.stopped || this.settling > 0, () => this.requests(), this.pacing);
        if (this.stopped) break;
        const doc = await this.journal.claim(this.owner, this.options.leaseMs);
        behind = doc !== undefined && Date.now() - doc.at.getTime() >= this.options.maxLagMs;
        if (doc) {
          didOne = true;
          await this.materialize(doc, () => this.stopped);
        }
      } catch (err) {
        this.log.error({ err: { name: (err as Error).name } }, 'materializing the audit journal failed; will retry');
        await sleep(FAILURE_PAUSE_MS);
      }
      if (!didOne && !this.stopped) await this.idle();
    }
  }

  /** Waits for wake() or the next poll. */
  private async idle(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.options.pollMs);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
    this.woken = false;
  }

  /**
   * Writes a claimed document's AuditEvents step by step, then deletes it (or gives it back when
   * stopped). A step's events are built while the previous step's are being inserted: the server
   * builds while the database stores.
   */
  private async materialize(doc: JournalDocument, stop: () => boolean): Promise<void> {
    const step = this.options.stepRecords;
    let inserting: Promise<void> | undefined;
    for (let start = 0; start < doc.records.length; start += step) {
      if (stop()) {
        await inserting;
        await this.journal.release(doc._id, this.owner);
        return;
      }
      const records = doc.records.slice(start, start + step);
      const ctx = await this.names.contextFor(records);
      const slices = new TimeSlices();
      const docs: CurrentDocument[] = [];
      for (let i = 0; i < records.length; i++) {
        auditEventsOf(records[i], ctx).forEach((event, e) => docs.push(this.store.buildDocument(event, auditEventId(doc._id, start + i, e), doc.at)));
        await slices.pause();
      }
      await inserting;
      inserting = this.store.insert(docs);
      // A rejected insert is awaited (and thrown) at the next step or below; until then it is not unhandled.
      inserting.catch(() => undefined);
      await nextTurn();
    }
    await inserting;
    await this.journal.remove(doc._id);
  }
}
