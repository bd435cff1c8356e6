// Pages for getting an account and getting back in: register with an activation code or an
// invitation (patients), accept a proxy invitation, forgot password, reset (also the set-password
// link of new staff), forgot username; and the patient's page for inviting proxies.
import express, { type Request, type Response, type Router } from 'express';
import { nameOf } from '../accounts/account-services.ts';
import type { AccountDocument } from '../accounts/account-store.ts';
import {
  acceptProxyInvitation,
  checkBirthDate,
  EnrolmentProblem,
  invitePatient,
  inviteProxy,
  registerWithActivationCode,
  registerWithPatientInvitation,
} from '../accounts/enrolment.ts';
import { accountOfLink, remindUsername, requestPasswordReset, resetPassword } from '../accounts/recovery.ts';
import { html, type SafeHtml } from './html.ts';
import { field, formValue, hiddenFields, message, passwordValue } from './form-parts.ts';
import type { PageKit } from './page-kit.ts';

type Errors = Record<string, string | undefined>;
const PASSWORD_HINT = 'At least 8 characters. A few unrelated words make a good password; no need for symbols or numbers.';

/** Runs an enrolment step; a problem the person can fix shows the form again with it. */
async function attempt(run: () => Promise<void>, again: (errors: Errors) => void): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof EnrolmentProblem)) throw err;
    again({ [err.field]: err.message });
  }
}

async function signInNew(kit: PageKit, req: Request, res: Response, account: AccountDocument, next = '/account'): Promise<void> {
  const session = await kit.s.sessions.create(account._id, 'complete', ['pwd']);
  kit.setSessionCookie(req, res, session);
  await kit.s.events.record({ type: 'sign-in', accountId: account._id, address: kit.address(req), method: 'password' });
  res.redirect(303, next);
}

function formError(errors: Errors): SafeHtml {
  return message('error', errors.form ?? (Object.values(errors).some(Boolean) ? 'Some details need your attention: see below.' : undefined));
}

export function mountEnrolmentPages(router: Router, kit: PageKit): void {
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  const clinic = kit.s.config.clinic.name;

  // ---- register with an activation code -------------------------------------------------------
  const showRegister = (req: Request, res: Response, errors: Errors = {}, status = 200) => {
    const b = req.body as Record<string, string> | undefined;
    kit.page(req, res, {
      status,
      title: 'Create your account',
      body: html`<h1>Create your account</h1>
<p>You need the activation code ${clinic} gave you (on paper or at the desk), your medical record number (MRN) and your date of birth.</p>
${formError(errors)}
<form method="post" action="/account/register">
${hiddenFields(kit.csrf(req, res))}
${field({ name: 'mrn', label: 'Medical record number (MRN)', hint: 'On your activation letter, e.g. 680000001.', value: formValue(b, 'mrn'), autocomplete: 'off', inputmode: 'numeric', error: errors.mrn })}
${field({ name: 'birthDate', label: 'Date of birth', type: 'date', autocomplete: 'bday', value: formValue(b, 'birthDate'), error: errors.birthDate })}
${field({ name: 'code', label: 'Activation code', hint: 'Like ABCDE-FGHJK-MNPQR. It works once, for 30 days.', value: formValue(b, 'code'), autocomplete: 'off', error: errors.code })}
${field({ name: 'email', label: 'Email address', hint: 'This will be your username.', type: 'email', autocomplete: 'username', value: formValue(b, 'email'), error: errors.email })}
${field({ name: 'password', label: 'Choose a password', type: 'password', autocomplete: 'new-password', hint: PASSWORD_HINT, error: errors.password })}
<div class="actions"><button type="submit">Create account</button></div>
</form>
<ul class="links"><li><a href="/account/sign-in">I have an account: sign in</a></li><li>No activation code? Ask ${clinic} for one, or for an invitation by email.</li></ul>`,
    });
  };
  router.get('/account/register', (req, res) => showRegister(req, res));
  router.post('/account/register', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const b = req.body as Record<string, unknown>;
    await attempt(
      async () => {
        const account = await registerWithActivationCode(
          kit.s,
          { mrn: formValue(b, 'mrn', 64), birthDate: formValue(b, 'birthDate', 20), code: formValue(b, 'code', 40), email: formValue(b, 'email', 320), password: passwordValue(b, 'password') },
          kit.address(req),
        );
        await signInNew(kit, req, res, account);
      },
      (errors) => showRegister(req, res, errors, 400),
    );
  });

  // ---- register with a patient invitation ---------------------------------------------------------
  const showInvitation = async (req: Request, res: Response, errors: Errors = {}, status = 200) => {
    const b = req.body as Record<string, string> | undefined;
    const token = formValue(b, 'token', 100) || String(req.query.token ?? '').slice(0, 100);
    const data = await kit.s.secrets.peek('patient-invitation', token);
    if (!data) return linkExpired(req, res, 'This invitation link has expired or was used already. Ask the clinic for a new one.');
    kit.page(req, res, {
      status,
      title: 'Create your account',
      body: html`<h1>Create your account</h1>
<p>${clinic} invited you to see your health record online.</p>
${formError(errors)}
<form method="post" action="/account/register/invitation">
${hiddenFields(kit.csrf(req, res), { token })}
${field({ name: 'birthDate', label: 'Your date of birth', type: 'date', autocomplete: 'bday', hint: 'To check that the invitation reached the right person.', value: formValue(b, 'birthDate'), error: errors.birthDate })}
${field({ name: 'email', label: 'Email address', hint: 'This will be your username.', type: 'email', autocomplete: 'username', value: formValue(b, 'email') || data.email, error: errors.email })}
${field({ name: 'password', label: 'Choose a password', type: 'password', autocomplete: 'new-password', hint: PASSWORD_HINT, error: errors.password })}
<div class="actions"><button type="submit">Create account</button></div>
</form>`,
    });
  };
  router.get('/account/register/invitation', (req, res) => showInvitation(req, res));
  router.post('/account/register/invitation', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const b = req.body as Record<string, unknown>;
    await attempt(
      async () => {
        const account = await registerWithPatientInvitation(
          kit.s,
          { token: formValue(b, 'token', 100), birthDate: formValue(b, 'birthDate', 20), email: formValue(b, 'email', 320), password: passwordValue(b, 'password') },
          kit.address(req),
        );
        await signInNew(kit, req, res, account);
      },
      (errors) => void showInvitation(req, res, errors, 400),
    );
  });

  // ---- proxy invitations ------------------------------------------------------------------------
  const showProxy = async (req: Request, res: Response, errors: Errors = {}, status = 200) => {
    const b = req.body as Record<string, string> | undefined;
    const token = formValue(b, 'token', 100) || String(req.query.token ?? '').slice(0, 100);
    const data = await kit.s.secrets.peek('proxy-invitation', token);
    if (!data?.patient) return linkExpired(req, res, 'This invitation link has expired or was used already. Ask for a new one.');
    const patientName = nameOf(await kit.s.records.read('Patient', data.patient)) ?? 'a patient';
    const signedIn = await kit.signedIn(req);
    const csrf = kit.csrf(req, res);
    const next = `/account/register/proxy?token=${token}`;
    kit.page(req, res, {
      status,
      title: `See ${patientName}’s record`,
      signedInAs: signedIn ? { email: signedIn.account.email } : undefined,
      body: html`<h1>See ${patientName}’s health record</h1>
${formError(errors)}
${
  signedIn
    ? html`<p>Accept the invitation to see ${patientName}’s record with your account <strong>${signedIn.account.email}</strong>.</p>
<form method="post" action="/account/register/proxy">${hiddenFields(csrf, { token })}<div class="actions"><button type="submit">Accept invitation</button></div></form>`
    : html`<p>You are invited to see ${patientName}’s health record at ${clinic}.</p>
<p><a class="button secondary" href="/account/sign-in?next=${encodeURIComponent(next)}">I have an account: sign in to accept</a></p>
<h2>Or create an account</h2>
<form method="post" action="/account/register/proxy">
${hiddenFields(csrf, { token })}
${field({ name: 'email', label: 'Email address', hint: 'This will be your username.', type: 'email', autocomplete: 'username', value: formValue(b, 'email') || data.email, error: errors.email })}
${field({ name: 'password', label: 'Choose a password', type: 'password', autocomplete: 'new-password', hint: PASSWORD_HINT, error: errors.password })}
<div class="actions"><button type="submit">Create account and accept</button></div>
</form>`
}`,
    });
  };
  router.get('/account/register/proxy', (req, res) => showProxy(req, res));
  router.post('/account/register/proxy', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const b = req.body as Record<string, unknown>;
    const signedIn = await kit.signedIn(req);
    await attempt(
      async () => {
        const account = await acceptProxyInvitation(kit.s, { token: formValue(b, 'token', 100), email: formValue(b, 'email', 320), password: passwordValue(b, 'password') }, kit.address(req), signedIn?.account);
        if (signedIn) res.redirect(303, '/account?accepted=1');
        else await signInNew(kit, req, res, account);
      },
      (errors) => void showProxy(req, res, errors, 400),
    );
  });

  // ---- patients invite their proxies ---------------------------------------------------------------
  router.get('/account/proxies', async (req, res) => showProxies(kit, req, res));
  router.post('/account/proxies/invite', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const signedIn = await kit.signedIn(req);
    const own = signedIn?.account.fhirUser?.startsWith('Patient/') ? signedIn.account.fhirUser.slice('Patient/'.length) : undefined;
    if (!signedIn || !own) return void res.redirect(303, '/account/sign-in?next=/account/proxies');
    await attempt(
      async () => {
        const sent = await inviteProxy(kit.s, formValue(req.body, 'relatedPerson', 64), formValue(req.body, 'email', 320) || undefined, signedIn.account._id, own);
        res.redirect(303, `/account/proxies?sent=${encodeURIComponent(sent.email)}`);
      },
      (errors) => void showProxies(kit, req, res, Object.values(errors)[0], 400),
    );
  });

  // ---- forgot password, reset ---------------------------------------------------------------------
  const showForgot = (req: Request, res: Response, sent = false) => {
    kit.page(req, res, {
      title: 'Forgot your password?',
      body: html`<h1>Forgot your password?</h1>
${
  sent
    ? message('success', 'If an account has this email address, we sent it a link to choose a new password. The link works for 30 minutes. Check your spam folder if it does not arrive.')
    : html`<p>Enter the email address you sign in with. We will send you a link to choose a new password.</p>`
}
<form method="post" action="/account/forgot-password">
${hiddenFields(kit.csrf(req, res))}
${field({ name: 'email', label: 'Email address', type: 'email', autocomplete: 'username', value: formValue(req.body, 'email') })}
<div class="actions"><button type="submit">${sent ? 'Send again' : 'Send link'}</button></div>
</form>
<ul class="links"><li><a href="/account/sign-in">Back to sign-in</a></li><li><a href="/account/forgot-username">Forgot your username?</a></li></ul>`,
    });
  };
  router.get('/account/forgot-password', (req, res) => showForgot(req, res));
  router.post('/account/forgot-password', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const email = formValue(req.body, 'email', 320);
    if (email) await requestPasswordReset(kit.s, email, kit.address(req));
    showForgot(req, res, true);
  });

  const showReset = async (req: Request, res: Response, errors: Errors = {}, status = 200) => {
    const token = formValue(req.body, 'token', 100) || String(req.query.token ?? '').slice(0, 100);
    const link = await accountOfLink(kit.s, token);
    if (!link) return linkExpired(req, res, 'This link has expired or was used already. Ask for a new one with “Forgot your password?”.');
    const setting = link.kind === 'set-password';
    kit.page(req, res, {
      status,
      title: setting ? 'Choose your password' : 'Choose a new password',
      body: html`<h1>${setting ? 'Choose your password' : 'Choose a new password'}</h1>
${formError(errors)}
<form method="post" action="/account/reset">
${hiddenFields(kit.csrf(req, res), { token })}
<input type="text" name="username" autocomplete="username" value="${link.account.email}" class="visually-hidden" tabindex="-1" aria-hidden="true">
<p>For <strong>${link.account.email}</strong>.</p>
${field({ name: 'password', label: setting ? 'Password' : 'New password', type: 'password', autocomplete: 'new-password', hint: PASSWORD_HINT, error: errors.password })}
<div class="actions"><button type="submit">Save password</button></div>
</form>
${setting ? '' : html`<p class="hint">Saving signs you out everywhere, and apps must be allowed again.</p>`}`,
    });
  };
  router.get('/account/reset', (req, res) => showReset(req, res));
  router.post('/account/reset', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    await attempt(
      async () => {
        await resetPassword(kit.s, formValue(req.body, 'token', 100), passwordValue(req.body, 'password'), kit.address(req));
        const current = await kit.session(req);
        if (current) await kit.s.sessions.end(current.token);
        kit.clearSessionCookie(req, res);
        res.redirect(303, '/account/sign-in?done=reset');
      },
      (errors) => void showReset(req, res, errors, 400),
    );
  });

  // ---- forgot username ------------------------------------------------------------------------
  const showForgotUsername = (req: Request, res: Response, o: { sent?: boolean; errors?: Errors; status?: number } = {}) => {
    const b = req.body as Record<string, string> | undefined;
    const errors = o.errors ?? {};
    kit.page(req, res, {
      status: o.status,
      title: 'Forgot your username?',
      body: html`<h1>Forgot your username?</h1>
${o.sent ? message('success', 'If these details match an account, we sent its username to this email address. Check your spam folder if it does not arrive.') : html`<p>Your username is the email address you registered with. Tell us who you are and where to send it.</p>`}
${formError(errors)}
<form method="post" action="/account/forgot-username">
${hiddenFields(kit.csrf(req, res))}
${field({ name: 'mrn', label: 'Medical record number (MRN)', value: formValue(b, 'mrn'), autocomplete: 'off', inputmode: 'numeric', error: errors.mrn })}
${field({ name: 'birthDate', label: 'Date of birth', type: 'date', autocomplete: 'bday', value: formValue(b, 'birthDate'), error: errors.birthDate })}
${field({ name: 'email', label: 'Email address to send it to', hint: 'The address you registered with, or the one the clinic has on your record.', type: 'email', autocomplete: 'email', value: formValue(b, 'email'), error: errors.email })}
<div class="actions"><button type="submit">Send my username</button></div>
</form>
<ul class="links"><li><a href="/account/sign-in">Back to sign-in</a></li></ul>`,
    });
  };
  router.get('/account/forgot-username', (req, res) => showForgotUsername(req, res));
  router.post('/account/forgot-username', form, async (req, res) => {
    if (!kit.checkCsrf(req, res)) return;
    const b = req.body as Record<string, unknown>;
    await attempt(
      async () => {
        const birthDate = checkBirthDate(formValue(b, 'birthDate', 20));
        await remindUsername(kit.s, { mrn: formValue(b, 'mrn', 64), birthDate, email: formValue(b, 'email', 320) }, kit.address(req));
        showForgotUsername(req, res, { sent: true });
      },
      (errors) => showForgotUsername(req, res, { errors, status: 400 }),
    );
  });

  function linkExpired(req: Request, res: Response, text: string): void {
    kit.page(req, res, { status: 410, title: 'Link expired', body: html`<h1>This link does not work any more</h1>${message('error', text)}<p><a href="/account/sign-in">Go to sign-in</a></p>` });
  }
}

async function showProxies(kit: PageKit, req: Request, res: Response, error?: string, status = 200): Promise<void> {
  const signedIn = await kit.signedIn(req);
  if (!signedIn) return void res.redirect(303, '/account/sign-in?next=/account/proxies');
  const own = signedIn.account.fhirUser?.startsWith('Patient/') ? signedIn.account.fhirUser.slice('Patient/'.length) : undefined;
  const people = own ? await kit.s.records.relatedPersonsOf(own) : [];
  const csrf = kit.csrf(req, res);
  const sent = typeof req.query.sent === 'string' ? req.query.sent : undefined;
  kit.page(req, res, {
    status,
    title: 'People who can see your record',
    signedInAs: { email: signedIn.account.email },
    body: html`<h1>People who can see your record</h1>
${sent ? message('success', `We sent an invitation to ${sent}.`) : ''}${message('error', error)}
<p>Family members and caregivers the clinic knows can get their own sign-in to see your record. Invite them here; what they may see is set in the portal.</p>
${people.length === 0 ? html`<p>The clinic has no family members or caregivers on your record. Ask the clinic to add one.</p>` : ''}
${people.map(
  (p) => html`<div class="card"><h3>${nameOf(p.resource) ?? 'Unnamed'}</h3>
<form method="post" action="/account/proxies/invite">
${hiddenFields(csrf, { relatedPerson: p.id })}
${field({ name: 'email', label: `Email address for ${nameOf(p.resource) ?? 'them'}`, type: 'email', autocomplete: 'off', required: false, hint: 'Leave empty to use the address the clinic has.', idSuffix: p.id })}
<button type="submit" class="secondary">Send invitation</button></form></div>`,
)}
<p><a href="/account">Back to your account</a></p>`,
  });
}

export { invitePatient };
