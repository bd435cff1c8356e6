// Signing in with an email and a password, throttled (sign-in-throttle.ts), recorded
// (security-events.ts), with the same answer, and about the same time, whether or not an account
// has that email.
import type { AccountServices } from './account-services.ts';
import { secondFactorRequired, type AccountDocument } from './account-store.ts';
import type { SessionStage } from './account-sessions.ts';
import { verifyAgainstNothing, verifyPassword } from './passwords.ts';

export type PasswordSignIn =
  | { ok: true; account: AccountDocument; stage: SessionStage }
  | { ok: false; problem: 'wrong' }
  | { ok: false; problem: 'wait' | 'locked'; retryAfterSeconds: number; until: Date };

/** What comes after a correct password: done, a second factor, or setting one up first. */
export function stageAfterPassword(account: AccountDocument): SessionStage {
  if (account.totp) return 'second-factor';
  return secondFactorRequired(account.role) ? 'totp-setup' : 'complete';
}

export async function signInWithPassword(s: AccountServices, email: string, password: string, address: string): Promise<PasswordSignIn> {
  const account = await s.accounts.byEmail(email);
  const verdict = await s.throttle.check(email, address);
  if (!verdict.allowed) {
    await s.events.record({ type: 'sign-in-failed', accountId: account?._id, address, method: 'password', reason: verdict.locked ? 'locked' : 'too soon after a failure' });
    return { ok: false, problem: verdict.locked ? 'locked' : 'wait', retryAfterSeconds: verdict.retryAfterSeconds, until: verdict.until };
  }
  const usable = account && !account.disabled && account.passwordHash;
  const right = usable ? await verifyPassword(account.passwordHash!, password) : await verifyAgainstNothing(password);
  if (!right || !account) {
    const { accountLocked } = await s.throttle.failure(email, address);
    await s.events.record({ type: 'sign-in-failed', accountId: account?._id, address, method: 'password', reason: account ? 'wrong password' : 'unknown email' });
    if (accountLocked) {
      await s.events.record({ type: 'locked', accountId: account?._id, address, reason: 'repeated failed sign-ins' });
      const until = await s.throttle.lockedUntil(email);
      return { ok: false, problem: 'locked', retryAfterSeconds: Math.ceil(((until?.getTime() ?? Date.now()) - Date.now()) / 1000), until: until ?? new Date() };
    }
    return { ok: false, problem: 'wrong' };
  }
  await s.throttle.success(email);
  return { ok: true, account, stage: stageAfterPassword(account) };
}
