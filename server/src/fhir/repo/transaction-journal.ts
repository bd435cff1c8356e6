// Atomic transactions without database transactions (FerretDB 1.x and standalone MongoDB have
// none). Before a transaction writes, it records a journal document naming every resource it
// will touch and the version each had. Every document it writes carries the journal id. If any
// write fails, or the server dies half-way, the journal is rolled back: each touched resource is
// put back to the version it had, and the versions the transaction added are removed from history.
// A journal holds a lease that its server renews while working; a journal whose lease ran out
// belongs to a dead server and is rolled back at start-up (or by any live server's sweep).
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { Logger } from '../../logger.ts';
import { conflict } from '../outcome.ts';
import type { ResourceRepository } from './resource-repository.ts';
import { historyId, JOURNAL_COLLECTION } from './stored-document.ts';

export interface JournalTarget {
  type: string;
  id: string;
  /** Version current before the transaction; 0 when the resource did not exist (or was deleted). */
  priorVid: number;
}

interface JournalDocument {
  _id: string;
  state: 'pending' | 'rolling-back';
  startedAt: Date;
  leaseUntil: Date;
  targets: JournalTarget[];
}

export class TransactionJournal {
  private readonly journals: Collection<JournalDocument>;
  private sweepTimer?: NodeJS.Timeout;
  /** Transactions this process is running: its own sweep never takes them for dead. */
  private readonly running = new Set<string>();

  constructor(
    private readonly repo: ResourceRepository,
    private readonly log: Logger,
    private readonly leaseMs: number,
  ) {
    this.journals = repo.db.collection<JournalDocument>(JOURNAL_COLLECTION);
  }

  /** Records the intent; from here on a crash leaves something recovery will undo. */
  async begin(targets: JournalTarget[]): Promise<OpenTransaction> {
    const now = Date.now();
    const doc: JournalDocument = {
      _id: randomUUID(),
      state: 'pending',
      startedAt: new Date(now),
      leaseUntil: new Date(now + this.leaseMs),
      targets,
    };
    await this.journals.insertOne(doc);
    this.running.add(doc._id);
    return new OpenTransaction(doc._id, targets, this.journals, this.leaseMs);
  }

  /** Forgets a journal whose writes all landed: the transaction is committed. */
  async commit(tx: OpenTransaction): Promise<void> {
    tx.stopLease();
    this.running.delete(tx.id);
    const res = await this.journals.deleteOne({ _id: tx.id, state: 'pending' });
    if (res.deletedCount !== 1) {
      // Another server took our lease for dead and rolled us back; writes we made after that
      // are undone here, so nothing of the transaction stands.
      for (const target of tx.targets) await this.restore(tx.id, target);
      throw conflict('The transaction took too long and was rolled back; send it again');
    }
  }

  async rollback(tx: OpenTransaction): Promise<void> {
    tx.stopLease();
    try {
      await this.rollbackJournal(tx.id, tx.targets);
    } finally {
      this.running.delete(tx.id);
    }
  }

  /** Rolls back from the journal; `known` targets serve when another server already removed it. */
  private async rollbackJournal(txId: string, known?: JournalTarget[]): Promise<void> {
    const journal = await this.journals.findOneAndUpdate(
      { _id: txId },
      { $set: { state: 'rolling-back' } },
      { returnDocument: 'after' },
    );
    const targets = journal?.targets ?? known;
    if (!targets) return;
    for (const target of targets) await this.restore(txId, target);
    await this.journals.deleteOne({ _id: txId });
    this.log.warn({ tx: txId, resources: targets.length }, 'transaction rolled back');
  }

  /**
   * Puts one resource back to its prior version. Idempotent: recovery may run it twice.
   * Only _id lookups (see ResourceRepository.latestVersion); the transaction wrote at most one
   * version of each resource it touched.
   */
  private async restore(txId: string, target: JournalTarget): Promise<void> {
    const { repo } = this;
    const current = repo.current(target.type);
    // The newest version is ours if this transaction wrote the resource and nobody wrote after it.
    const written = await repo.latestVersion(target.type, target.id, target.priorVid);
    if (written && written.vid > target.priorVid && written.tx === txId) await repo.history.deleteOne({ _id: written._id });
    const now = await current.findOne({ _id: target.id }, { projection: { vid: 1, tx: 1 } });
    // Untouched by this transaction: leave it (it may even have moved on through another writer).
    if (now && now.tx !== txId) return;
    const prior = target.priorVid > 0 ? await repo.history.findOne({ _id: historyId(target.type, target.id, target.priorVid) }) : null;
    if (!prior?.resource) {
      // It did not exist before (or its prior version is a deletion): it must not exist now.
      if (now) await current.deleteOne({ _id: target.id });
      return;
    }
    // Written by us, or deleted by us: bring the prior version back.
    if (!now && written && written.vid > target.priorVid && written.tx !== txId) return; // someone else wrote after us
    await repo.putCurrent(target.type, repo.buildDocument(prior.resource, target.id, prior.vid, prior.ts), 'replace');
  }

  /**
   * Rolls back every journal whose lease has run out. At start-up, waits for leases that are
   * still running when `waitForLeases` is set, so no half-applied transaction stays visible.
   */
  async recover(options: { waitForLeases?: boolean } = {}): Promise<number> {
    let recovered = 0;
    for (;;) {
      const pending = (await this.journals.find({}).toArray()).filter((j) => !this.running.has(j._id));
      if (pending.length === 0) return recovered;
      const now = Date.now();
      const expired = pending.filter((j) => j.leaseUntil.getTime() <= now);
      for (const j of expired) {
        await this.rollbackJournal(j._id);
        recovered++;
      }
      if (!options.waitForLeases) return recovered;
      const waiting = pending.filter((j) => j.leaseUntil.getTime() > now);
      if (waiting.length === 0) continue;
      const soonest = Math.min(...waiting.map((j) => j.leaseUntil.getTime()));
      await new Promise((r) => setTimeout(r, Math.max(50, soonest - now + 10)));
    }
  }

  /** Periodically rolls back transactions of servers that died (other instances, or us). */
  startSweeping(): void {
    this.sweepTimer = setInterval(() => {
      this.recover().catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'transaction sweep failed'));
    }, this.leaseMs);
    this.sweepTimer.unref();
  }

  stopSweeping(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }
}

/** A running transaction: its id marks written documents; its lease is renewed while it runs. */
export class OpenTransaction {
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly id: string,
    readonly targets: JournalTarget[],
    journals: Collection<JournalDocument>,
    leaseMs: number,
  ) {
    this.timer = setInterval(() => {
      journals.updateOne({ _id: id, state: 'pending' }, { $set: { leaseUntil: new Date(Date.now() + leaseMs) } }).catch(() => undefined);
    }, Math.max(100, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  stopLease(): void {
    clearInterval(this.timer);
  }
}
