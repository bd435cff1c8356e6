// Start-up recovery: what a server that died (this one before a restart, or another instance)
// left half-done is settled before or soon after the first request.
// - Transactions: journals whose lease ran out are rolled back, or applied if committed
//   (transaction-journal.ts). This runs before the first request is served.
// - Single writes: a version claimed (its history entry inserted) but never made current is rolled
//   forward, or undone when it cannot be stored. Without this it would show in history but not on
//   read until the next write to the resource. These claims can only be from the last moments of a
//   dead instance, so the history written since shortly before its last heartbeat is checked. This
//   runs in the background: until it is done, a write to such a resource settles it itself.
// - Conditional-create claims of dead instances are removed.
import type { Logger } from '../../logger.ts';
import type { ConditionalClaims } from './conditional-claims.ts';
import { CLAIM_WINDOW_MS, type InstanceRegistry } from './instance-registry.ts';
import type { ResourceRepository } from './resource-repository.ts';
import type { TransactionJournal } from './transaction-journal.ts';

export interface Recovery {
  repo: ResourceRepository;
  journal: TransactionJournal;
  instances: InstanceRegistry;
  conditionalClaims: ConditionalClaims;
  log: Logger;
}

/** Rolls back or applies abandoned transactions; resolves when none is left. */
export async function recoverTransactions({ journal, log }: Recovery): Promise<void> {
  const recovered = await journal.recover({ waitForLeases: true });
  if (recovered > 0) log.warn({ recovered }, 'settled transactions left by a previous run');
}

/** Settles the single-write claims and conditional claims of dead instances. */
export async function recoverClaims({ repo, instances, conditionalClaims, log }: Recovery): Promise<void> {
  const dead = await instances.dead();
  if (dead.length === 0) return;
  const since = new Date(Math.min(...dead.map((d) => d.aliveAt.getTime())) - CLAIM_WINDOW_MS);
  const outcome = { forward: 0, back: 0 };
  const entries = repo.history.find({ ts: { $gte: since } }, { projection: { _id: 1, type: 1, id: 1, vid: 1, ts: 1, tx: 1, method: 1 } });
  for await (const brief of entries) {
    if (brief.tx && (await repo.transactionIsOpen(brief.tx))) continue; // the journal's to settle
    const entry = await repo.history.findOne({ _id: brief._id });
    if (!entry) continue;
    const result = await repo.settleClaim(entry);
    if (result !== 'current') outcome[result]++;
  }
  const removed = await conditionalClaims.removeClaimsOf(dead.map((d) => d._id));
  await instances.forget(dead.map((d) => d._id));
  if (outcome.forward + outcome.back + removed > 0) {
    log.warn({ rolledForward: outcome.forward, undone: outcome.back, conditionalClaims: removed }, 'settled writes left by a server that stopped');
  }
}
