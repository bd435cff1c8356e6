// Sign-in throttling, per account and per client address, shared by every instance through the
// database (FerretDB 1.x has no TTL indexes: expiry is a field checked on every read, and a
// periodic sweep deletes old records). Accounts are keyed by the hash of the email typed, whether
// or not an account has it, so the answers never tell whether an account exists.
// - Per account: from the 3rd failure on, the next attempt must wait (1 s, then 2 s, …); the
//   5th failure locks the account for 15 minutes. A successful sign-in clears the count.
// - Per address: from the 20th failure in a quarter of an hour on, attempts wait (1 s, 2 s, …
//   at most a minute); the 100th locks the address for 15 minutes. Success does not clear it.
// See: https://pages.nist.gov/800-63-4/sp800-63b.html#throttle (at most 100 consecutive failures)
import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { normaliseEmail } from './account-store.ts';

export const THROTTLE_COLLECTION = 'auth_sign_in_throttle';

interface Limits {
  /** Failures before attempts must wait. */
  delayAfter: number;
  /** Longest wait between attempts, in seconds. */
  maxDelaySeconds: number;
  /** Failures that lock. */
  lockAfter: number;
  lockMs: number;
  /** A count is forgotten this long after its last failure. */
  windowMs: number;
}

export const ACCOUNT_LIMITS: Limits = { delayAfter: 2, maxDelaySeconds: 8, lockAfter: 5, lockMs: 15 * 60_000, windowMs: 24 * 60 * 60_000 };
export const ADDRESS_LIMITS: Limits = { delayAfter: 19, maxDelaySeconds: 60, lockAfter: 100, lockMs: 15 * 60_000, windowMs: 15 * 60_000 };

interface ThrottleDocument {
  _id: string;
  failures: number;
  lastFailureAt: Date;
  lockedUntil?: Date;
  expiresAt: Date;
}

export type ThrottleVerdict =
  | { allowed: true }
  /** `locked`: a temporary lock (until `until`); otherwise a short wait. */
  | { allowed: false; locked: boolean; retryAfterSeconds: number; until: Date };

const hashKey = (text: string) => createHash('sha256').update(text).digest('base64url');
export const accountKey = (email: string) => `account:${hashKey(normaliseEmail(email))}`;
const addressKey = (address: string) => `address:${address}`;

function verdictOf(doc: ThrottleDocument | null, limits: Limits, now: number): ThrottleVerdict {
  if (!doc || doc.expiresAt.getTime() <= now) return { allowed: true };
  if (doc.lockedUntil && doc.lockedUntil.getTime() > now) {
    return { allowed: false, locked: true, retryAfterSeconds: Math.ceil((doc.lockedUntil.getTime() - now) / 1000), until: doc.lockedUntil };
  }
  if (doc.failures > limits.delayAfter) {
    const delay = Math.min(2 ** (doc.failures - limits.delayAfter - 1), limits.maxDelaySeconds) * 1000;
    const at = doc.lastFailureAt.getTime() + delay;
    if (at > now) return { allowed: false, locked: false, retryAfterSeconds: Math.ceil((at - now) / 1000), until: new Date(at) };
  }
  return { allowed: true };
}

export class SignInThrottle {
  private readonly records: Collection<ThrottleDocument>;

  constructor(db: Db) {
    this.records = db.collection<ThrottleDocument>(THROTTLE_COLLECTION);
  }

  /** May someone at `address` try to sign in as `email` now? */
  async check(email: string, address: string): Promise<ThrottleVerdict> {
    const now = Date.now();
    const [account, byAddress] = await Promise.all([this.records.findOne({ _id: accountKey(email) }), this.records.findOne({ _id: addressKey(address) })]);
    const a = verdictOf(account, ACCOUNT_LIMITS, now);
    const b = verdictOf(byAddress, ADDRESS_LIMITS, now);
    if (a.allowed) return b;
    if (b.allowed) return a;
    return a.retryAfterSeconds >= b.retryAfterSeconds ? a : b;
  }

  /** Counts a failed attempt; true when it locked the account just now. */
  async failure(email: string, address: string): Promise<{ accountLocked: boolean }> {
    const [accountLocked] = await Promise.all([this.count(accountKey(email), ACCOUNT_LIMITS), this.count(addressKey(address), ADDRESS_LIMITS)]);
    return { accountLocked };
  }

  /** A successful sign-in: the account's count starts again (the address's does not). */
  async success(email: string): Promise<void> {
    await this.records.deleteOne({ _id: accountKey(email) });
  }

  /** Ends a lock (admin `users unlock`, or a password reset); true when there was one. */
  async unlock(email: string): Promise<boolean> {
    const res = await this.records.deleteOne({ _id: accountKey(email) });
    return res.deletedCount === 1;
  }

  async lockedUntil(email: string): Promise<Date | undefined> {
    const verdict = verdictOf(await this.records.findOne({ _id: accountKey(email) }), ACCOUNT_LIMITS, Date.now());
    return !verdict.allowed && verdict.locked ? verdict.until : undefined;
  }

  async sweep(): Promise<void> {
    await this.records.deleteMany({ expiresAt: { $lte: new Date() } });
  }

  private async count(key: string, limits: Limits): Promise<boolean> {
    const now = new Date();
    // A count whose window has passed starts again.
    await this.records.deleteMany({ _id: key, expiresAt: { $lte: now } });
    const doc = await this.records.findOneAndUpdate(
      { _id: key },
      { $inc: { failures: 1 }, $set: { lastFailureAt: now, expiresAt: new Date(now.getTime() + Math.max(limits.windowMs, limits.lockMs)) } },
      { upsert: true, returnDocument: 'after' },
    );
    if (!doc || doc.failures < limits.lockAfter) return false;
    // Locked: the count starts again once the lock is over.
    await this.records.updateOne({ _id: key }, { $set: { failures: 0, lockedUntil: new Date(now.getTime() + limits.lockMs) } });
    return true;
  }
}
