// What readers may see of the transactions this server is running.
//
// A transaction writes in three steps (transaction-journal.ts): it stages every new version as a
// claimed history entry (current documents untouched), records its commit in the journal, then
// applies the staged versions to the current documents. Readers must see none of it before the
// commit and all of it after, but the database has no multi-document transactions, so:
// - staged history entries are hidden from history readers until the transaction has applied;
// - searches (which may read many resources) never run while a transaction applies: applying
//   waits for the searches in flight, and searches that start meanwhile wait for it to end;
// - a read by id of a resource the applying transaction changes waits for it to end.
// The apply step only writes current documents (bulk writes), so the wait is short.
// This holds for the readers of this server process: the journal's in-memory state is not shared
// between instances (see README, "Transactions").
// See: https://hl7.org/fhir/R4/http.html#transaction ("all or nothing")


export class TransactionVisibility {
  /** Transactions staging or applying: "Type/id" of every resource each writes. */
  private readonly active = new Map<string, Set<string>>();
  /** Searches in flight. */
  private readers = 0;
  private drained?: () => void;
  /** Set while a transaction applies (or waits to): readers wait for it. */
  private applying?: { txId: string; done: Promise<void> };
  /** Applies run one at a time, in arrival order. */
  private applyQueue: Promise<void> = Promise.resolve();

  /** A transaction starts staging: its history entries are hidden from now on. */
  begin(txId: string, targets: Iterable<string>): void {
    this.active.set(txId, new Set(targets));
  }

  /** A transaction ended (applied or rolled back): nothing of it is hidden any more. */
  end(txId: string): void {
    this.active.delete(txId);
  }

  /** Ids of the transactions whose history entries readers must not see (empty most of the time). */
  hiddenTransactions(): string[] {
    return this.active.size === 0 ? [] : [...this.active.keys()];
  }

  isHidden(txId: string | undefined): boolean {
    return txId !== undefined && this.active.has(txId);
  }

  /** Runs a search; it never overlaps a transaction's apply step. */
  async read<T>(search: () => Promise<T>): Promise<T> {
    while (this.applying) await this.applying.done;
    this.readers++;
    try {
      return await search();
    } finally {
      this.readers--;
      if (this.readers === 0) this.drained?.();
    }
  }

  /** Waits while an applying transaction is changing Type/id (reads by id call this). */
  async settled(type: string, id: string): Promise<void> {
    while (this.applying) {
      if (!this.active.get(this.applying.txId)?.has(`${type}/${id}`)) return;
      await this.applying.done;
    }
  }

  /** Runs a transaction's apply step with no search in flight; searches arriving meanwhile wait. */
  apply<T>(txId: string, write: () => Promise<T>): Promise<T> {
    const run = this.applyQueue.then(async () => {
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      this.applying = { txId, done };
      try {
        if (this.readers > 0) await new Promise<void>((resolve) => (this.drained = resolve));
        this.drained = undefined;
        return await write();
      } finally {
        this.applying = undefined;
        finish();
      }
    });
    this.applyQueue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
