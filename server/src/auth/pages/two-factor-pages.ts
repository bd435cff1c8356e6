// Setting up an authenticator app: a QR code (and the key to type by hand), confirmed with a code
// from the app, then ten recovery codes shown once. Used during sign-in (staff and admins without
// a second factor) and from the account's security page (anyone).
import type { Request, Response } from 'express';
import type { ActiveSession } from '../accounts/account-sessions.ts';
import type { AccountDocument } from '../accounts/account-store.ts';
import { checkTotp, newRecoveryCodes, newTotpSecret, qrSvg, totpContext, totpUri } from '../accounts/second-factor.ts';
import { html, trusted } from './html.ts';
import { field, formValue, hiddenFields, message } from './form-parts.ts';
import type { PageKit } from './page-kit.ts';
import type { SignInFlow } from './sign-in-flow.ts';

/** Where the set-up runs: inside a sign-in (partial session) or from the security page. */
export interface SetupPlace {
  flow: SignInFlow;
  /** The session stage the pages need ('totp-setup' in a sign-in, 'complete' on the account pages). */
  stage: ActiveSession['stage'];
  /** Path of the set-up page and of the recovery-codes page. */
  setupPath: string;
  codesPath: string;
  /** After the codes were shown. */
  done(req: Request, res: Response, session: ActiveSession, account: AccountDocument): Promise<void>;
}

async function current(kit: PageKit, place: SetupPlace, req: Request, res: Response) {
  const session = await kit.session(req);
  const account = session && session.stage === place.stage ? await kit.s.accounts.byId(session.accountId) : null;
  if (!session || !account || account.disabled) {
    res.redirect(303, place.flow.base === '/account' ? `/account/sign-in?next=${encodeURIComponent('/account/security')}` : place.flow.base);
    return undefined;
  }
  return { session, account };
}

const grouped = (secret: string) => secret.match(/.{1,4}/g)!.join(' ');

export async function showTotpSetup(kit: PageKit, place: SetupPlace, req: Request, res: Response, o: { status?: number; error?: string } = {}): Promise<void> {
  const state = await current(kit, place, req, res);
  if (!state) return;
  const { session, account } = state;
  // The seed being set up stays the same across reloads until it is confirmed.
  let secret = session.pendingTotp ? kit.s.box.openText(session.pendingTotp, `pending-${totpContext(account._id)}`) : undefined;
  if (!secret) {
    secret = newTotpSecret();
    await kit.s.sessions.set(session, { pendingTotp: kit.s.box.seal(secret, `pending-${totpContext(account._id)}`) });
  }
  const uri = totpUri(secret, account.email, kit.s.config.clinic.name);
  const svg = (await qrSvg(uri)).replace('<svg ', '<svg role="img" aria-labelledby="qr-title" ').replace(/(<svg[^>]*>)/, '$1<title id="qr-title">QR code for your authenticator app</title>');
  const csrf = kit.csrf(req, res);
  const inSignIn = place.stage !== 'complete';
  kit.page(req, res, {
    status: o.status,
    title: 'Set up your authenticator app',
    formOrigins: place.flow.formOrigins,
    signedInAs: inSignIn ? undefined : { email: account.email },
    body: html`<h1>Set up your authenticator app</h1>
${inSignIn ? html`<p>Your account needs a second step at sign-in: a code from an authenticator app on your phone (such as Google Authenticator, Microsoft Authenticator or 1Password).</p>` : ''}
${message('error', o.error)}
<ol>
<li><p>In your authenticator app, add an account and scan this QR code:</p>
<div class="qr">${trusted(svg)}</div>
<p>Cannot scan it? Enter this key instead: <span class="secret">${grouped(secret)}</span></p></li>
<li><p>Enter the 6-digit code the app now shows.</p></li>
</ol>
<form method="post" action="${place.setupPath}">
${hiddenFields(csrf, place.flow.hidden)}
${field({ name: 'code', label: 'Code from your app', autocomplete: 'one-time-code', inputmode: 'numeric', className: 'code', maxlength: 10, error: o.error ? ' ' : undefined })}
<div class="actions"><button type="submit">Turn on</button>${inSignIn ? '' : html`<a class="button secondary" href="/account/security">Cancel</a>`}</div>
</form>`,
  });
}

export async function postTotpSetup(kit: PageKit, place: SetupPlace, req: Request, res: Response): Promise<void> {
  if (!kit.checkCsrf(req, res)) return;
  const state = await current(kit, place, req, res);
  if (!state) return;
  const { session, account } = state;
  const secret = session.pendingTotp ? kit.s.box.openText(session.pendingTotp, `pending-${totpContext(account._id)}`) : undefined;
  const check = secret ? await checkTotp(secret, formValue(req.body, 'code', 20)) : { valid: false as const };
  if (!secret || !check.valid) {
    await showTotpSetup(kit, place, req, res, { status: 400, error: 'That code is not right. Enter the 6-digit code your app shows now for this account; codes change every 30 seconds.' });
    return;
  }
  const { codes, stored } = newRecoveryCodes();
  await kit.s.accounts.update(account._id, {
    totp: { sealedSecret: kit.s.box.seal(secret, totpContext(account._id)), enabledAt: new Date(), lastTimeStep: check.timeStep },
    recoveryCodes: stored,
  });
  await kit.s.sessions.set(session, { pendingRecoveryCodes: kit.s.box.seal(JSON.stringify(codes), `recovery-codes:${account._id}`) }, ['pendingTotp']);
  await kit.s.events.record({ type: 'totp-enabled', accountId: account._id, address: kit.address(req) });
  res.redirect(303, `${place.codesPath}${place.flow.hidden.next ? `?next=${encodeURIComponent(place.flow.hidden.next)}` : ''}`);
}

/** New recovery codes (replacing the old ones), from the security page. */
export async function renewRecoveryCodes(kit: PageKit, session: ActiveSession, account: AccountDocument, address: string): Promise<void> {
  const { codes, stored } = newRecoveryCodes();
  await kit.s.accounts.update(account._id, { recoveryCodes: stored });
  await kit.s.sessions.set(session, { pendingRecoveryCodes: kit.s.box.seal(JSON.stringify(codes), `recovery-codes:${account._id}`) });
  await kit.s.events.record({ type: 'recovery-codes-renewed', accountId: account._id, address });
}

export async function showRecoveryCodes(kit: PageKit, place: SetupPlace, req: Request, res: Response): Promise<void> {
  const state = await current(kit, place, req, res);
  if (!state) return;
  const { session, account } = state;
  if (!session.pendingRecoveryCodes) {
    await place.done(req, res, session, account);
    return;
  }
  const codes = JSON.parse(kit.s.box.openText(session.pendingRecoveryCodes, `recovery-codes:${account._id}`)) as string[];
  const csrf = kit.csrf(req, res);
  kit.page(req, res, {
    title: 'Save your recovery codes',
    formOrigins: place.flow.formOrigins,
    signedInAs: place.stage === 'complete' ? { email: account.email } : undefined,
    body: html`<h1>Save your recovery codes</h1>
${message('success', 'Your authenticator app is set up.')}
<p>If you lose your phone, each of these codes lets you sign in once instead of a code from the app. Print them or keep them in your password manager. <strong>They are shown only now.</strong></p>
<ul class="codes" aria-label="Recovery codes">${codes.map((c) => html`<li>${c}</li>`)}</ul>
<form method="post" action="${place.codesPath}">
${hiddenFields(csrf, place.flow.hidden)}
<div class="actions"><button type="submit">I have saved my codes</button></div>
</form>`,
  });
}

export async function postRecoveryCodes(kit: PageKit, place: SetupPlace, req: Request, res: Response): Promise<void> {
  if (!kit.checkCsrf(req, res)) return;
  const state = await current(kit, place, req, res);
  if (!state) return;
  await kit.s.sessions.set(state.session, {}, ['pendingRecoveryCodes']);
  await place.done(req, res, state.session, state.account);
}
