// The account area (/account): sign-in and sign-out outside an app authorization, the security
// page (password, authenticator app, recovery codes, passkeys) and "apps you authorized" with
// revoke (the SMART configuration's management_endpoint).
import express, { type Request, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import { endAccess, endProviderSession, revokeGrant } from '../accounts/access-ending.ts';
import { SESSION_COOKIE } from '../accounts/account-sessions.ts';
import type { AccountDocument } from '../accounts/account-store.ts';
import { secondFactorRequired } from '../accounts/account-store.ts';
import { hashPassword, passwordProblem, verifyPassword } from '../accounts/passwords.ts';
import type { ClientRegistry } from '../clients.ts';
import type { GrantContexts } from '../grant-contexts.ts';
import { hashId } from '../oidc-adapter.ts';
import { html } from './html.ts';
import { field, formValue, hiddenFields, message, passwordValue } from './form-parts.ts';
import type { PageKit } from './page-kit.ts';
import { passkeyRegister, passkeyRegistrationOptions, passkeySignIn, passkeySignInOptions, PASSKEY_SCRIPTS } from './passkey-routes.ts';
import { accountFlow } from './sign-in-flow.ts';
import { postSecondFactor, postSignIn, showSecondFactor, showSignIn } from './sign-in-pages.ts';
import { postRecoveryCodes, postTotpSetup, renewRecoveryCodes, showRecoveryCodes, showTotpSetup, type SetupPlace } from './two-factor-pages.ts';

export interface AccountPageDeps {
  kit: PageKit;
  provider: () => Provider;
  grants: GrantContexts;
  clients: ClientRegistry;
}

/** The signed-in person, or a redirect to sign in (and back here afterwards). */
async function requireSignIn(kit: PageKit, req: Request, res: Response) {
  const signedIn = await kit.signedIn(req);
  if (!signedIn) {
    res.redirect(303, `/account/sign-in?next=${encodeURIComponent(req.originalUrl.split('?')[0])}`);
    return undefined;
  }
  return signedIn;
}

function dateText(date: Date | undefined): string {
  return date ? date.toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric' }) : '';
}

export function mountAccountPages(router: Router, deps: AccountPageDeps): void {
  const { kit } = deps;
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  const json = express.json({ limit: '32kb' });

  // Sign-in outside an app (the flow's forms post here and return to `next`).
  router.get('/account/sign-in', async (req, res) => {
    const signedIn = await kit.signedIn(req);
    if (signedIn) return void (await accountFlow(req).finish(req, res, signedIn.session));
    const info = req.query.done === 'reset' ? 'Your password was changed. Sign in with your new password.' : req.query.done === 'signed-out' ? 'You are signed out.' : undefined;
    showSignIn(kit, accountFlow(req), req, res, { info });
  });
  router.post('/account/sign-in', form, (req, res) => postSignIn(kit, accountFlow(req), req, res));
  router.get('/account/second-factor', (req, res) => showSecondFactor(kit, accountFlow(req), req, res));
  router.post('/account/second-factor', form, (req, res) => postSecondFactor(kit, accountFlow(req), req, res));
  const signInSetup = (req: Request): SetupPlace => {
    const flow = accountFlow(req);
    return {
      flow,
      stage: 'totp-setup',
      setupPath: '/account/totp-setup',
      codesPath: '/account/recovery-codes',
      async done(rq, rs, session) {
        const complete = await kit.s.sessions.complete(session, ['pwd', 'otp', 'mfa']);
        kit.setSessionCookie(rq, rs, complete);
        await kit.s.events.record({ type: 'sign-in', accountId: session.accountId, address: kit.address(rq), method: 'password+totp' });
        await flow.finish(rq, rs, complete);
      },
    };
  };
  router.get('/account/totp-setup', (req, res) => showTotpSetup(kit, signInSetup(req), req, res));
  router.post('/account/totp-setup', form, (req, res) => postTotpSetup(kit, signInSetup(req), req, res));
  router.get('/account/recovery-codes', (req, res) => showRecoveryCodes(kit, signInSetup(req), req, res));
  router.post('/account/recovery-codes', form, (req, res) => postRecoveryCodes(kit, signInSetup(req), req, res));
  router.get('/account/passkey-options', (req, res) => passkeySignInOptions(kit, req, res));
  router.post('/account/passkey', json, (req, res) => passkeySignIn(kit, accountFlow(req), req, res));

  // Sign-out ends the page session and the authorization server's session of this browser.
  router.post('/account/sign-out', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const ended = await kit.s.sessions.end((req.cookies as Record<string, string>)[SESSION_COOKIE]);
    await endProviderSession(kit.s.db, (req.cookies as Record<string, string>)._session, hashId);
    kit.clearSessionCookie(req, res);
    if (ended) await kit.s.events.record({ type: 'sign-out', accountId: ended.accountId, address: kit.address(req) });
    res.redirect(303, '/account/sign-in?done=signed-out');
  });

  router.get('/account', async (req, res) => {
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    const { account } = signedIn;
    kit.page(req, res, {
      title: 'Your account',
      signedInAs: { email: account.email },
      body: html`<h1>Your account</h1>
<p>Signed in as <strong>${account.email}</strong>${account.name ? html` (${account.name})` : ''}.</p>
<ul class="links">
<li><a href="/account/security">Password and sign-in security</a></li>
<li><a href="/account/apps">Apps you allowed</a></li>
${account.role === 'patient' ? html`<li><a href="/account/proxies">People who can see your record</a></li>` : ''}
</ul>`,
    });
  });

  router.get('/account/security', async (req, res) => {
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    showSecurity(kit, req, res, signedIn.account, {});
  });

  router.post('/account/password', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    const { account, session } = signedIn;
    const current = passwordValue(req.body, 'current');
    const next = passwordValue(req.body, 'password');
    if (!account.passwordHash || !(await verifyPassword(account.passwordHash, current))) {
      await kit.s.events.record({ type: 'sign-in-failed', accountId: account._id, address: kit.address(req), method: 'password', reason: 'wrong current password at password change' });
      return showSecurity(kit, req, res, account, { status: 400, currentError: 'Your current password is not right. Enter the password you signed in with.' });
    }
    const problem = passwordProblem(next, { email: account.email, name: account.name, clinicName: kit.s.config.clinic.name });
    if (problem) return showSecurity(kit, req, res, account, { status: 400, passwordError: problem });
    await kit.s.accounts.update(account._id, { passwordHash: await hashPassword(next), passwordChangedAt: new Date() });
    // Everyone else who was signed in as this person (and every app token) is out.
    await endAccess(kit.s.db, kit.s.sessions, account._id, session);
    await kit.s.events.record({ type: 'password-changed', accountId: account._id, address: kit.address(req) });
    res.redirect(303, '/account/security?changed=password');
  });

  const securitySetup = (): SetupPlace => ({
    flow: { base: '/account', hidden: {}, formOrigins: [], finish: async (_q, rs) => void rs.redirect(303, '/account/security') },
    stage: 'complete',
    setupPath: '/account/security/totp',
    codesPath: '/account/security/recovery-codes',
    async done(_req, res) {
      res.redirect(303, '/account/security?changed=totp');
    },
  });
  router.get('/account/security/totp', (req, res) => showTotpSetup(kit, securitySetup(), req, res));
  router.post('/account/security/totp', form, (req, res) => postTotpSetup(kit, securitySetup(), req, res));
  router.get('/account/security/recovery-codes', (req, res) => showRecoveryCodes(kit, securitySetup(), req, res));
  router.post('/account/security/recovery-codes', form, (req, res) => postRecoveryCodes(kit, securitySetup(), req, res));
  router.post('/account/security/recovery-codes/new', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    await renewRecoveryCodes(kit, signedIn.session, signedIn.account, kit.address(req));
    res.redirect(303, '/account/security/recovery-codes');
  });
  router.post('/account/security/totp/off', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    const { account } = signedIn;
    if (secondFactorRequired(account.role)) return showSecurity(kit, req, res, account, { status: 400, error: 'Clinic staff and administrators must keep their authenticator app on.' });
    await kit.s.accounts.update(account._id, {}, ['totp', 'recoveryCodes']);
    await kit.s.events.record({ type: 'totp-disabled', accountId: account._id, address: kit.address(req) });
    res.redirect(303, '/account/security?changed=totp-off');
  });

  router.get('/account/passkeys/options', (req, res) => passkeyRegistrationOptions(kit, req, res));
  router.post('/account/passkeys', json, (req, res) => passkeyRegister(kit, req, res));
  router.post('/account/passkeys/remove', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    const id = formValue(req.body, 'id', 1400);
    const { account } = signedIn;
    if (!(account.passkeys ?? []).some((p) => p.id === id)) return showSecurity(kit, req, res, account, { status: 400, error: 'That passkey is not on your account any more.' });
    await kit.s.accounts.update(account._id, { passkeys: (account.passkeys ?? []).filter((p) => p.id !== id) });
    await kit.s.events.record({ type: 'passkey-removed', accountId: account._id, address: kit.address(req) });
    res.redirect(303, '/account/security?changed=passkey-removed');
  });

  router.get('/account/apps', async (req, res) => {
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    await showApps(deps, req, res, signedIn.account);
  });
  router.post('/account/apps/revoke', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const signedIn = await requireSignIn(kit, req, res);
    if (!signedIn) return;
    const grantId = formValue(req.body, 'grant', 100);
    const mine = (await deps.grants.ofAccount(signedIn.account._id)).find((g) => g.grantId === grantId);
    if (mine) {
      await revokeGrant(kit.s.db, grantId, hashId);
      await kit.s.events.record({ type: 'app-revoked', accountId: signedIn.account._id, clientId: mine.clientId, address: kit.address(req) });
    }
    res.redirect(303, '/account/apps?revoked=1');
  });
}

const CHANGED: Record<string, string> = {
  password: 'Your password was changed. You were signed out everywhere else, and apps must be allowed again.',
  totp: 'Your authenticator app is on.',
  'totp-off': 'Your authenticator app is off. Signing in needs only your password (or a passkey) now.',
  passkey: 'Your passkey was added. Next time, choose “Sign in with a passkey”.',
  'passkey-removed': 'The passkey was removed.',
};

function showSecurity(kit: PageKit, req: Request, res: Response, account: AccountDocument, o: { status?: number; error?: string; currentError?: string; passwordError?: string }): void {
  const csrf = kit.csrf(req, res);
  const changed = typeof req.query.changed === 'string' ? CHANGED[req.query.changed] : req.query.added === 'passkey' ? CHANGED.passkey : undefined;
  const unusedCodes = (account.recoveryCodes ?? []).filter((c) => !c.usedAt).length;
  kit.page(req, res, {
    status: o.status,
    title: 'Sign-in security',
    signedInAs: { email: account.email },
    scripts: PASSKEY_SCRIPTS,
    body: html`<h1>Sign-in security</h1>
${message('success', changed)}${message('error', o.error)}
<h2>Password</h2>
<form method="post" action="/account/password">
${hiddenFields(csrf)}
<input type="text" name="username" autocomplete="username" value="${account.email}" class="visually-hidden" tabindex="-1" aria-hidden="true">
${field({ name: 'current', label: 'Current password', type: 'password', autocomplete: 'current-password', error: o.currentError })}
${field({ name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: 'At least 8 characters. A few unrelated words make a good password; no need for symbols.', error: o.passwordError })}
<div class="actions"><button type="submit">Change password</button></div>
</form>
<h2>Authenticator app</h2>
${
  account.totp
    ? html`<p>On since ${dateText(account.totp.enabledAt)}. ${unusedCodes} of 10 recovery codes left.</p>
<form method="post" action="/account/security/recovery-codes/new">${hiddenFields(csrf)}<button type="submit" class="secondary">Make new recovery codes</button></form>
${secondFactorRequired(account.role) ? html`<p class="hint">Clinic staff and administrators must keep it on.</p>` : html`<form method="post" action="/account/security/totp/off">${hiddenFields(csrf)}<button type="submit" class="danger">Turn off</button></form>`}`
    : html`<p>Off. With an authenticator app, signing in also needs a code from your phone.</p><p><a class="button secondary" href="/account/security/totp">Set up an authenticator app</a></p>`
}
<h2>Passkeys</h2>
<p>A passkey lets you sign in with your phone, fingerprint or security key instead of your password.</p>
${(account.passkeys ?? []).map(
  (p) => html`<div class="card"><h3>${p.name}</h3><p>Added ${dateText(p.createdAt)}${p.lastUsedAt ? html`, last used ${dateText(p.lastUsedAt)}` : ''}.</p>
<form method="post" action="/account/passkeys/remove">${hiddenFields(csrf, { id: p.id })}<button type="submit" class="danger">Remove ${p.name}</button></form></div>`,
)}
<div class="js-only">
${field({ name: 'passkey-name', label: 'Name for the new passkey', hint: 'So that you recognise it later, e.g. “My phone”.', required: false, autocomplete: 'off' })}
<button type="button" class="secondary" id="passkey-add" data-options="/account/passkeys/options" data-verify="/account/passkeys">Add a passkey</button>
<p id="passkey-add-status" role="status"></p>
</div>
<noscript><p>Adding a passkey needs JavaScript.</p></noscript>
<p><a href="/account">Back to your account</a></p>`,
  });
}

async function showApps(deps: AccountPageDeps, req: Request, res: Response, account: AccountDocument): Promise<void> {
  const { kit } = deps;
  const csrf = kit.csrf(req, res);
  const grants = (await deps.grants.ofAccount(account._id)).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const cards = [];
  for (const g of grants) {
    const client = await deps.clients.get(g.clientId);
    const patient = g.patient ? await kit.s.records.read('Patient', g.patient) : undefined;
    const names = (patient?.name as Array<{ text?: string }> | undefined)?.[0]?.text;
    const scopes = [...new Set((g.decision ?? []).flatMap((d) => d.granted))];
    cards.push(html`<div class="card"><h3>${client?.name ?? 'An app that no longer exists'}</h3>
<p>Allowed ${dateText(g.createdAt)}${names ? html` for <strong>${names}</strong>` : ''}.</p>
${scopes.length > 0 ? html`<details><summary>What it may do</summary><ul>${scopes.map((s) => html`<li><code>${s}</code></li>`)}</ul></details>` : ''}
<form method="post" action="/account/apps/revoke">${hiddenFields(csrf, { grant: g.grantId })}<button type="submit" class="danger">Disconnect${client ? html` ${client.name}` : ''}</button></form></div>`);
  }
  kit.page(req, res, {
    title: 'Apps you allowed',
    signedInAs: { email: account.email },
    body: html`<h1>Apps you allowed</h1>
${req.query.revoked ? message('success', 'The app was disconnected. It can no longer use your record unless you allow it again.') : ''}
${cards.length > 0 ? cards : html`<p>You have not allowed any app yet.</p>`}
<p><a href="/account">Back to your account</a></p>`,
  });
}
