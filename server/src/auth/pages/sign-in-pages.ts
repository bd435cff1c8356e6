// Sign-in: email and password, then a second factor when the account has one (an authenticator
// code or a recovery code), or, for staff and admins who have none yet, setting one up first.
import type { Request, Response } from 'express';
import { secondFactorRequired, type AccountDocument } from '../accounts/account-store.ts';
import type { ActiveSession } from '../accounts/account-sessions.ts';
import { checkTotp, matchRecoveryCode, openTotpSecret } from '../accounts/second-factor.ts';
import { signInWithPassword } from '../accounts/sign-in.ts';
import { html } from './html.ts';
import { field, formValue, hiddenFields, message, passwordValue, timeOfDay } from './form-parts.ts';
import type { PageKit } from './page-kit.ts';
import type { SignInFlow } from './sign-in-flow.ts';
import { PASSKEY_SCRIPTS } from './passkey-routes.ts';

export function showSignIn(kit: PageKit, flow: SignInFlow, req: Request, res: Response, o: { status?: number; email?: string; error?: string; info?: string } = {}): void {
  const csrf = kit.csrf(req, res);
  kit.page(req, res, {
    status: o.status,
    title: 'Sign in',
    formOrigins: flow.formOrigins,
    scripts: PASSKEY_SCRIPTS,
    body: html`<h1>Sign in</h1>
${flow.appName ? html`<p>to continue to <span class="app-name">${flow.appName}</span></p>` : ''}
${message('error', o.error)}${message('info', o.info)}
<form method="post" action="${flow.base}/sign-in">
${hiddenFields(csrf, flow.hidden)}
${field({ name: 'email', label: 'Email address', type: 'email', autocomplete: 'username webauthn', value: o.email, error: o.error ? ' ' : undefined, autofocus: !o.email })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', autofocus: Boolean(o.email) })}
<div class="actions"><button type="submit">Sign in</button></div>
</form>
<div class="js-only passkey-area">
<button type="button" class="secondary" id="passkey-sign-in" data-options="${flow.base}/passkey-options" data-verify="${flow.base}/passkey">Sign in with a passkey</button>
<p id="passkey-status" role="status"></p>
</div>
<ul class="links">
<li><a href="/account/forgot-password">Forgot your password?</a></li>
<li><a href="/account/forgot-username">Forgot your username?</a></li>
<li><a href="/account/register">Create an account</a> with the activation code the clinic gave you</li>
</ul>`,
  });
}

function lockMessage(problem: 'wait' | 'locked', until: Date, retryAfterSeconds: number): string {
  if (problem === 'wait') return `Too many failed attempts. Wait ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}, then try again.`;
  return `Too many failed attempts: signing in to this account is paused until ${timeOfDay(until)}. To sign in now, reset your password with “Forgot your password?”.`;
}

export async function postSignIn(kit: PageKit, flow: SignInFlow, req: Request, res: Response): Promise<void> {
  if (!kit.checkCsrf(req, res)) return;
  const email = formValue(req.body, 'email', 320);
  const password = passwordValue(req.body, 'password');
  if (!email || !password) {
    showSignIn(kit, flow, req, res, { status: 400, email, error: 'Enter your email address and your password.' });
    return;
  }
  const result = await signInWithPassword(kit.s, email, password, kit.address(req));
  if (!result.ok) {
    if (result.problem === 'wrong') {
      showSignIn(kit, flow, req, res, { status: 401, email, error: 'The email address or the password is not right. Check them and try again, or use “Forgot your password?”.' });
    } else {
      res.set('Retry-After', String(result.retryAfterSeconds));
      showSignIn(kit, flow, req, res, { status: 429, email, error: lockMessage(result.problem, result.until, result.retryAfterSeconds) });
    }
    return;
  }
  await startSession(kit, flow, req, res, result.account, result.stage, ['pwd']);
}

/** A first factor succeeded: a session at the stage that follows, and on to it. */
export async function startSession(kit: PageKit, flow: SignInFlow, req: Request, res: Response, account: AccountDocument, stage: ActiveSession['stage'], amr: string[]): Promise<void> {
  const previous = await kit.session(req);
  if (previous) await kit.s.sessions.end(previous.token);
  const session = await kit.s.sessions.create(account._id, stage, amr);
  kit.setSessionCookie(req, res, session);
  if (stage === 'complete') {
    await kit.s.events.record({ type: 'sign-in', accountId: account._id, address: kit.address(req), method: amr.join('+') });
    await flow.finish(req, res, session);
    return;
  }
  res.redirect(303, `${flow.base}/${stage}${flow.hidden.next ? `?next=${encodeURIComponent(flow.hidden.next)}` : ''}`);
}

/** The partial session of a sign-in at this stage, or a redirect back to the start. */
async function partial(kit: PageKit, flow: SignInFlow, req: Request, res: Response, stage: ActiveSession['stage']) {
  const session = await kit.session(req);
  const account = session && session.stage === stage ? await kit.s.accounts.byId(session.accountId) : null;
  if (!session || !account || account.disabled) {
    res.redirect(303, flow.base === '/account' ? '/account/sign-in' : flow.base);
    return undefined;
  }
  return { session, account };
}

export async function showSecondFactor(kit: PageKit, flow: SignInFlow, req: Request, res: Response, o: { status?: number; error?: string; recoveryError?: string } = {}): Promise<void> {
  if (!(await partial(kit, flow, req, res, 'second-factor'))) return;
  const csrf = kit.csrf(req, res);
  kit.page(req, res, {
    status: o.status,
    title: 'Enter your code',
    formOrigins: flow.formOrigins,
    body: html`<h1>Enter your code</h1>
<p>Open your authenticator app and enter the 6-digit code it shows for ${kit.s.config.clinic.name}.</p>
${message('error', o.error ?? o.recoveryError)}
<form method="post" action="${flow.base}/second-factor">
${hiddenFields(csrf, flow.hidden)}
${field({ name: 'code', label: 'Code from your app', autocomplete: 'one-time-code', inputmode: 'numeric', className: 'code', maxlength: 10, error: o.error ? ' ' : undefined, autofocus: !o.recoveryError })}
<div class="actions"><button type="submit">Continue</button></div>
</form>
<details${o.recoveryError ? html` open` : ''}>
<summary>Lost your phone? Use a recovery code</summary>
<form method="post" action="${flow.base}/second-factor">
${hiddenFields(csrf, flow.hidden)}
${field({ name: 'recovery', label: 'Recovery code', hint: 'One of the ten codes you saved when you set up your authenticator app, like abcd-efgh-jkmn. Each works once.', autocomplete: 'off', error: o.recoveryError ? ' ' : undefined, autofocus: Boolean(o.recoveryError) })}
<div class="actions"><button type="submit" class="secondary">Use recovery code</button></div>
</form>
</details>`,
  });
}

export async function postSecondFactor(kit: PageKit, flow: SignInFlow, req: Request, res: Response): Promise<void> {
  if (!kit.checkCsrf(req, res)) return;
  const state = await partial(kit, flow, req, res, 'second-factor');
  if (!state) return;
  const { session, account } = state;
  const address = kit.address(req);
  const throttleKey = `second-factor:${account._id}`;
  const verdict = await kit.s.throttle.check(throttleKey, address);
  if (!verdict.allowed) {
    await showSecondFactor(kit, flow, req, res, { status: 429, error: lockMessage(verdict.locked ? 'locked' : 'wait', verdict.until, verdict.retryAfterSeconds) });
    return;
  }
  const code = formValue(req.body, 'code', 20);
  const recovery = formValue(req.body, 'recovery', 40);
  let amr: string[] | undefined;
  if (code) {
    const secret = openTotpSecret(kit.s.box, account);
    const check = secret ? await checkTotp(secret, code, account.totp?.lastTimeStep) : { valid: false as const };
    if (check.valid) {
      // The matched time step is kept only if no other request used a later one first: a code works once.
      const res2 = await kit.s.accounts.accounts.updateOne(
        { _id: account._id, $or: [{ 'totp.lastTimeStep': { $exists: false } }, { 'totp.lastTimeStep': { $lt: check.timeStep } }] },
        { $set: { 'totp.lastTimeStep': check.timeStep } },
      );
      if (res2.modifiedCount === 1) amr = ['pwd', 'otp', 'mfa'];
    }
  } else if (recovery) {
    const index = matchRecoveryCode(account, recovery);
    if (index >= 0) {
      const codes = [...(account.recoveryCodes ?? [])];
      codes[index] = { ...codes[index], usedAt: new Date() };
      // Only if the codes did not change meanwhile (each code works once, also under races).
      const res2 = await kit.s.accounts.accounts.updateOne({ _id: account._id, updatedAt: account.updatedAt }, { $set: { recoveryCodes: codes, updatedAt: new Date() } });
      if (res2.modifiedCount === 1) {
        amr = ['pwd', 'otp', 'mfa'];
        const left = codes.filter((c) => !c.usedAt).length;
        await kit.s.events.record({ type: 'recovery-code-used', accountId: account._id, address, reason: `${left} left` });
      }
    }
  }
  if (!amr) {
    const { accountLocked } = await kit.s.throttle.failure(throttleKey, address);
    await kit.s.events.record({ type: 'second-factor-failed', accountId: account._id, address, method: code ? 'totp' : 'recovery-code' });
    if (accountLocked) {
      await kit.s.events.record({ type: 'locked', accountId: account._id, address, reason: 'repeated wrong codes' });
      await kit.s.sessions.end(session.token);
      kit.clearSessionCookie(req, res);
      const flowBase = flow.base;
      kit.page(req, res, {
        status: 429,
        title: 'Too many wrong codes',
        body: html`<h1>Too many wrong codes</h1>${message('error', 'For your safety, signing in is paused for 15 minutes. Then sign in again with your password and a new code from your app.')}<p><a href="${flowBase === '/account' ? '/account/sign-in' : '/account'}">Back to sign-in</a></p>`,
      });
      return;
    }
    const error = code || !recovery ? 'That code is not right or has been used. Enter the code your app shows now; codes change every 30 seconds.' : undefined;
    const recoveryError = recovery ? 'That recovery code is not right or has been used. Check it and try again.' : undefined;
    await showSecondFactor(kit, flow, req, res, { status: 401, error, recoveryError });
    return;
  }
  await kit.s.throttle.success(throttleKey);
  const complete = await kit.s.sessions.complete(session, amr);
  kit.setSessionCookie(req, res, complete);
  await kit.s.events.record({ type: 'sign-in', accountId: account._id, address, method: recovery ? 'password+recovery-code' : 'password+totp' });
  await flow.finish(req, res, complete);
}

/** Staff and admins sign in with a second factor only: those without one set it up first. */
export const mustSetUpSecondFactor = (account: AccountDocument): boolean => secondFactorRequired(account.role) && !account.totp;
