// Atomic, isolated transactions without database transactions (FerretDB 1.x and standalone
// MongoDB have none). A transaction runs in three steps:
// 1. begin: a journal document names every resource it will touch and the version each had;
// 2. stage: every new version is claimed as a history entry marked with the journal id, current
//    documents untouched (readers do not see staged entries: transaction-visibility.ts);
// 3. commit: the journal is marked committed (the commit point), the staged versions are applied
//    to the current documents in bulk, with no search in flight, and the journal is removed.
// A failure before the commit point rolls back: the staged entries are removed. A journal holds a
// lease that its server renews while working; a journal whose lease ran out belongs to a dead
// server and is settled at start-up (or by any live server's sweep): rolled back if it was not
// committed, applied if it was.
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { FhirResource as Resource } from 'fhir/r4';
import type { Logger } from '../../logger.ts';
import { conflict } from '../outcome.ts';
import type { Claim, ResourceRepository, WriteMethod } from './resource-repository.ts';
import { historyId, JOURNAL_COLLECTION } from './stored-document.ts';

export interface JournalTarget {
  type: string;
  id: string;
  /** Version current before the transaction; 0 when the resource did not exist (or was deleted). */
  priorVid: number;
}

/** One write of a transaction, decided before anything is written. */
export interface StagedWrite extends JournalTarget {
  kind: 'create' | 'update' | 'delete';
  /** The new version (create, update). */
  resource?: Resource;
  method: WriteMethod;
}

interface JournalDocument {
  _id: string;
  state: 'pending' | 'committed' | 'rolling-back';
  startedAt: Date;
  leaseUntil: Date;
  targets: JournalTarget[];
}

/** Writes staged at once; the database takes them as one command each. */
const STAGE_CONCURRENCY = 8;
/** Ids per delete command when staged entries are removed (the local database pushes down 500). */
const IDS_PER_DELETE = 500;
/** Attempts at the apply step before it is left to recovery (a brief database outage). */
const APPLY_ATTEMPTS = 3;

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
    repo.transactionIsOpen = async (txId) => this.running.has(txId) || (await this.journals.findOne({ _id: txId }, { projection: { _id: 1 } })) !== null;
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
    this.running.add(doc._id);
    this.repo.visibility.begin(doc._id, targets.map((t) => `${t.type}/${t.id}`));
    try {
      await this.journals.insertOne(doc);
    } catch (err) {
      this.running.delete(doc._id);
      this.repo.visibility.end(doc._id);
      throw err;
    }
    return new OpenTransaction(doc._id, targets, this.journals, this.leaseMs);
  }

  /**
   * Claims every new version, hidden from readers until the commit. Creates of fresh ids are
   * claimed in one bulk insert; the others one by one (each checks the version it replaces).
   * Returns the claims in the order of `writes`.
   */
  async stage(tx: OpenTransaction, writes: StagedWrite[], describe: (write: StagedWrite, err: unknown) => unknown = (_, err) => err): Promise<Claim[]> {
    const { repo } = this;
    const claims = new Map<StagedWrite, Claim>();
    for (const type of new Set(writes.map((w) => w.type))) await repo.prepareType(type);
    const fresh = writes
      .filter((w) => w.kind === 'create')
      .map((w) => {
        try {
          return { w, claim: repo.newClaim(w.type, w.id, w.resource!, w.method, tx.id) };
        } catch (err) {
          throw describe(w, err);
        }
      });
    for (const { claim } of fresh) tx.staged.add(claim.entry._id);
    if (fresh.length > 0) await repo.history.insertMany(fresh.map((f) => f.claim.entry), { ordered: false });
    for (const { w, claim } of fresh) claims.set(w, claim);

    const others = writes.filter((w) => w.kind !== 'create');
    await inParallel(others, STAGE_CONCURRENCY, async (w) => {
      try {
        const claim = await repo.claimVersion(w.type, w.id, { tx: tx.id, expectedVid: w.priorVid, method: w.method }, ({ currentVid }) => {
          if (w.kind === 'update') return { method: w.method, resource: w.resource };
          return currentVid === undefined ? 'unchanged' : { method: 'DELETE' };
        });
        if (claim === 'unchanged') throw conflict(`${w.type}/${w.id} was deleted while the transaction was running`);
        tx.staged.add(claim.entry._id);
        claims.set(w, claim);
      } catch (err) {
        throw describe(w, err);
      }
    });
    return writes.map((w) => claims.get(w)!);
  }

  /**
   * The commit point, then the apply step. If another server took this transaction for dead and
   * rolled it back meanwhile, nothing of it stands and the client gets a 409.
   */
  async commit(tx: OpenTransaction, claims: Claim[]): Promise<void> {
    const marked = await this.journals.updateOne({ _id: tx.id, state: 'pending' }, { $set: { state: 'committed' } });
    if (marked.matchedCount !== 1) {
      await this.removeStaged(tx);
      this.close(tx);
      throw conflict('The transaction took too long and was rolled back; send it again');
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.repo.visibility.apply(tx.id, () => this.repo.makeAllCurrent(claims, attempt > 1));
        break;
      } catch (err) {
        if (attempt >= APPLY_ATTEMPTS) {
          // Committed but not applied: the sweep applies it once the lease runs out.
          tx.stopLease();
          this.running.delete(tx.id);
          throw err;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    await this.journals.deleteOne({ _id: tx.id });
    this.close(tx);
  }

  /** Undoes a transaction that did not reach its commit point. */
  async rollback(tx: OpenTransaction): Promise<void> {
    tx.stopLease();
    try {
      await this.journals.updateOne({ _id: tx.id }, { $set: { state: 'rolling-back' } });
      await this.removeStaged(tx);
      await this.journals.deleteOne({ _id: tx.id });
      this.log.warn({ tx: tx.id, resources: tx.targets.length }, 'transaction rolled back');
    } finally {
      this.close(tx);
    }
  }

  private close(tx: OpenTransaction): void {
    tx.stopLease();
    this.running.delete(tx.id);
    this.repo.visibility.end(tx.id);
  }

  /** Removes the history entries the transaction staged (only its own: they carry its id). */
  private async removeStaged(tx: OpenTransaction): Promise<void> {
    const ids = [...tx.staged];
    for (let i = 0; i < ids.length; i += IDS_PER_DELETE) {
      await this.repo.history.deleteMany({ _id: { $in: ids.slice(i, i + IDS_PER_DELETE) }, tx: tx.id });
    }
    // A claim made by a write that failed half-way is not in tx.staged: find it by probing.
    const stagedTargets = new Set(ids.map((id) => id.slice(0, id.lastIndexOf('/'))));
    for (const target of tx.targets) {
      if (!stagedTargets.has(`${target.type}/${target.id}`)) await this.restore(tx.id, target);
    }
  }

  /** Rolls back from the journal (recovery); `known` targets serve when another server already removed it. */
  private async rollbackJournal(txId: string): Promise<void> {
    const journal = await this.journals.findOneAndUpdate({ _id: txId }, { $set: { state: 'rolling-back' } }, { returnDocument: 'after' });
    if (!journal) return;
    for (const target of journal.targets) await this.restore(txId, target);
    await this.journals.deleteOne({ _id: txId });
    this.log.warn({ tx: txId, resources: journal.targets.length }, 'transaction rolled back');
  }

  /**
   * Puts one resource back to its prior version. Idempotent: recovery may run it twice.
   * Only _id lookups (see ResourceRepository.latestVersion); the transaction wrote at most one
   * version of each resource it touched. Journals of earlier server versions also wrote current
   * documents (marked with the journal id) before their commit; those are put back too.
   */
  private async restore(txId: string, target: JournalTarget): Promise<void> {
    const { repo } = this;
    const current = repo.current(target.type);
    // The newest version is ours if this transaction wrote the resource and nobody wrote after it.
    const written = await repo.latestVersion(target.type, target.id, target.priorVid);
    if (written && written.vid > target.priorVid && written.tx === txId) await repo.history.deleteOne({ _id: written._id });
    const now = await current.findOne({ _id: target.id }, { projection: { vid: 1, tx: 1 } });
    // Untouched by this transaction: leave it (it may even have moved on through another writer).
    if (!now || now.tx !== txId) {
      if (now || !written || written.tx !== txId || written.resource || target.priorVid === 0) return;
    }
    const prior = target.priorVid > 0 ? await repo.history.findOne({ _id: historyId(target.type, target.id, target.priorVid) }) : null;
    if (!prior?.resource) {
      // It did not exist before (or its prior version is a deletion): it must not exist now.
      if (now) await current.deleteOne({ _id: target.id });
      return;
    }
    await repo.putCurrent(target.type, repo.buildDocument(prior.resource, target.id, prior.vid, prior.ts), 'replace');
  }

  /** Applies a committed journal whose server died before finishing (recovery). Idempotent. */
  private async rollForwardJournal(journal: JournalDocument): Promise<void> {
    const { repo } = this;
    const claims: Claim[] = [];
    for (const target of journal.targets) {
      const entry = await repo.latestVersion(target.type, target.id, target.priorVid);
      if (!entry || entry.tx !== journal._id || entry.vid <= target.priorVid) continue;
      const now = await repo.current(target.type).findOne({ _id: target.id }, { projection: { vid: 1 } });
      if ((now?.vid ?? 0) >= entry.vid) continue;
      claims.push(repo.claimFromEntry(entry));
    }
    repo.visibility.begin(journal._id, journal.targets.map((t) => `${t.type}/${t.id}`));
    try {
      await repo.visibility.apply(journal._id, () => repo.makeAllCurrent(claims, true));
      await this.journals.deleteOne({ _id: journal._id });
    } finally {
      repo.visibility.end(journal._id);
    }
    this.log.warn({ tx: journal._id, resources: claims.length }, 'committed transaction applied after a restart');
  }

  /**
   * Settles every journal whose lease has run out. At start-up, waits for leases that are still
   * running when `waitForLeases` is set, so no half-applied transaction stays visible.
   */
  async recover(options: { waitForLeases?: boolean } = {}): Promise<number> {
    let recovered = 0;
    for (;;) {
      const pending = (await this.journals.find({}).toArray()).filter((j) => !this.running.has(j._id));
      if (pending.length === 0) return recovered;
      const now = Date.now();
      const expired = pending.filter((j) => j.leaseUntil.getTime() <= now);
      for (const j of expired) {
        if (j.state === 'committed') await this.rollForwardJournal(j);
        else await this.rollbackJournal(j._id);
        recovered++;
      }
      if (!options.waitForLeases) return recovered;
      const waiting = pending.filter((j) => j.leaseUntil.getTime() > now);
      if (waiting.length === 0) continue;
      const soonest = Math.min(...waiting.map((j) => j.leaseUntil.getTime()));
      await new Promise((r) => setTimeout(r, Math.max(50, soonest - now + 10)));
    }
  }

  /** Periodically settles transactions of servers that died (other instances, or us) and leftover claims. */
  startSweeping(): void {
    this.sweepTimer = setInterval(() => {
      this.recover()
        .then(() => this.repo.settleLeftovers())
        .catch((err: unknown) => this.log.error({ err: { name: (err as Error).name } }, 'transaction sweep failed'));
    }, this.leaseMs);
    this.sweepTimer.unref();
  }

  stopSweeping(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }
}

/** A running transaction: its id marks staged entries; its lease is renewed while it runs. */
export class OpenTransaction {
  private readonly timer: NodeJS.Timeout;
  /** History entry ids this transaction staged (or tried to). */
  readonly staged = new Set<string>();

  constructor(
    readonly id: string,
    readonly targets: JournalTarget[],
    journals: Collection<JournalDocument>,
    leaseMs: number,
  ) {
    this.timer = setInterval(() => {
      journals
        .updateOne({ _id: id, state: { $in: ['pending', 'committed'] } }, { $set: { leaseUntil: new Date(Date.now() + leaseMs) } })
        .catch(() => undefined);
    }, Math.max(100, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  stopLease(): void {
    clearInterval(this.timer);
  }
}

/**
 * Runs task over items with at most `limit` in flight. On the first failure no new task starts;
 * the ones in flight finish (so a rollback sees every write that happened), then it rethrows.
 */
async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}
