// Lost credentials: a password-reset link by email (single-use, 30 minutes), and a username
// reminder by MRN, date of birth and email. The pages answer the same whether or not an account
// matched; only the mailbox learns more.
import { endAccess } from './access-ending.ts';
import type { AccountServices } from './account-services.ts';
import { emailsOf } from './account-services.ts';
import type { AccountDocument } from './account-store.ts';
import { normaliseEmail } from './account-store.ts';
import { EnrolmentProblem } from './enrolment.ts';
import { hashPassword, passwordProblem } from './passwords.ts';

export const RESET_TTL_MS = 30 * 60_000;

export async function requestPasswordReset(s: AccountServices, email: string, address: string): Promise<void> {
  // Throttled like sign-in, so the form cannot be used to flood someone's mailbox.
  const key = `reset:${email}`;
  const verdict = await s.throttle.check(key, address);
  if (!verdict.allowed) return;
  await s.throttle.failure(key, address);
  const account = await s.accounts.byEmail(email);
  if (!account || account.disabled) return;
  await s.secrets.withdraw('password-reset', { accountId: account._id });
  const { secret } = await s.secrets.issue('password-reset', { accountId: account._id, email: account.email }, RESET_TTL_MS);
  await s.mailer.send({
    to: account.email,
    subject: `Reset your ${s.config.clinic.name} password`,
    text: `Hello${account.name ? ` ${account.name}` : ''},\n\nSomeone (we hope you) asked to reset the password of your ${s.config.clinic.name} account.\n\nOpen this link to choose a new password (it works once, for 30 minutes):\n${s.config.baseUrl}/account/reset?token=${secret}\n\nIf you did not ask for this, ignore this message: your password stays as it is.\n`,
  });
  await s.events.record({ type: 'password-reset-requested', accountId: account._id, address });
}

/** The account a reset or set-password link is for, while the link works. */
export async function accountOfLink(s: AccountServices, token: string): Promise<{ account: AccountDocument; kind: 'password-reset' | 'set-password' } | undefined> {
  for (const kind of ['password-reset', 'set-password'] as const) {
    const data = await s.secrets.peek(kind, token);
    if (data?.accountId) {
      const account = await s.accounts.byId(data.accountId);
      if (account && !account.disabled) return { account, kind };
    }
  }
  return undefined;
}

/**
 * Sets the new password from a link: ends every session and token of the account, and the lock
 * of repeated failed sign-ins (the person proved they hold the mailbox).
 */
export async function resetPassword(s: AccountServices, token: string, password: string, address: string): Promise<AccountDocument> {
  const link = await accountOfLink(s, token);
  if (!link) throw new EnrolmentProblem('form', 'This link has expired or was used already. Ask for a new one with “Forgot your password?”.');
  const { account, kind } = link;
  const problem = passwordProblem(password, { email: account.email, name: account.name, clinicName: s.config.clinic.name });
  if (problem) throw new EnrolmentProblem('password', problem);
  const passwordHash = await hashPassword(password);
  if (!(await s.secrets.use(kind, token))) throw new EnrolmentProblem('form', 'This link was used already. Ask for a new one with “Forgot your password?”.');
  await s.accounts.update(account._id, { passwordHash, passwordChangedAt: new Date() });
  await endAccess(s.db, s.sessions, account._id);
  if (await s.throttle.unlock(account.email)) await s.events.record({ type: 'unlocked', accountId: account._id, address, reason: 'password reset' });
  await s.events.record({ type: kind === 'set-password' ? 'password-changed' : 'password-reset', accountId: account._id, address });
  return account;
}

/**
 * Sends the username (the account's email) to the address typed, when MRN and date of birth match a
 * patient with an account and that address is the account's or on the patient's record.
 */
export async function remindUsername(s: AccountServices, form: { mrn: string; birthDate: string; email: string }, address: string): Promise<void> {
  const key = `username:${form.mrn}`;
  const verdict = await s.throttle.check(key, address);
  if (!verdict.allowed) return;
  await s.throttle.failure(key, address);
  const patient = await s.records.patientByMrn(form.mrn);
  if (!patient || patient.resource.birthDate !== form.birthDate) return;
  const [account] = await s.accounts.byFhirUser(`Patient/${patient.id}`);
  const to = normaliseEmail(form.email);
  if (!account || (account.email !== to && !emailsOf(patient.resource).includes(to))) return;
  await s.mailer.send({
    to,
    subject: `Your ${s.config.clinic.name} username`,
    text: `Hello${account.name ? ` ${account.name}` : ''},\n\nYour username at ${s.config.clinic.name} is:\n\n    ${account.email}\n\nSign in at ${s.config.baseUrl}/account/sign-in\nForgot the password too? Choose “Forgot your password?” there.\n`,
  });
  await s.events.record({ type: 'username-reminder-requested', accountId: account._id, address });
}
