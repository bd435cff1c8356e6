// How people get accounts: patients with an activation code staff issue (MRN + date of birth +
// code) or an emailed invitation; proxies with an invitation a patient or staff made (linked to
// the RelatedPerson); staff and admins created by an admin, who set their password from an
// emailed link. Codes and links are single-use and stored hashed (one-time-secrets.ts).
import type { AccountServices } from './account-services.ts';
import { emailsOf, nameOf } from './account-services.ts';
import type { AccountDocument } from './account-store.ts';
import { normaliseEmail } from './account-store.ts';
import { newActivationCode, normaliseCode } from './one-time-secrets.ts';
import { hashPassword, passwordProblem } from './passwords.ts';

const DAY_MS = 24 * 60 * 60_000;
export const ACTIVATION_CODE_TTL_MS = 30 * DAY_MS;
export const INVITATION_TTL_MS = 30 * DAY_MS;
export const SET_PASSWORD_TTL_MS = 7 * DAY_MS;

/** A problem the person can fix, tied to a form field. */
export class EnrolmentProblem extends Error {
  override name = 'EnrolmentProblem';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,}$/;
export function checkEmail(email: string): string {
  const e = normaliseEmail(email);
  if (!EMAIL.test(e) || e.length > 320) throw new EnrolmentProblem('email', 'Enter an email address like name@example.com.');
  return e;
}

/** A date of birth as typed (YYYY-MM-DD from a date field), or a problem. */
export function checkBirthDate(text: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
    throw new EnrolmentProblem('birthDate', 'Enter your date of birth, for example 1980-03-27.');
  }
  return text;
}

async function checkNewPassword(s: AccountServices, password: string, email: string, name?: string): Promise<string> {
  const problem = passwordProblem(password, { email, name, clinicName: s.config.clinic.name });
  if (problem) throw new EnrolmentProblem('password', problem);
  return hashPassword(password);
}

async function checkEmailFree(s: AccountServices, email: string): Promise<void> {
  if (await s.accounts.byEmail(email)) {
    throw new EnrolmentProblem('email', 'An account with this email address exists already. Sign in with it, or use “Forgot your password?”.');
  }
}

async function checkNoAccountFor(s: AccountServices, patientId: string): Promise<void> {
  if ((await s.accounts.byFhirUser(`Patient/${patientId}`)).length > 0) {
    throw new EnrolmentProblem('form', 'This health record has an account already. Sign in, or use “Forgot your username?” to find it.');
  }
}

// ---- activation codes --------------------------------------------------------------------------

/** Staff issue a code for a patient (a new code replaces an unused old one); shown once. */
export async function issueActivationCode(s: AccountServices, mrn: string, issuedBy?: string): Promise<{ code: string; expiresAt: Date; patient: string; name?: string }> {
  const patient = await s.records.patientByMrn(mrn);
  if (!patient) throw new EnrolmentProblem('mrn', `no patient has the MRN ${mrn}`);
  await s.secrets.withdraw('activation-code', { patient: patient.id });
  const code = newActivationCode();
  const { expiresAt } = await s.secrets.issue('activation-code', { patient: patient.id, issuedBy }, ACTIVATION_CODE_TTL_MS, normaliseCode(code));
  await s.events.record({ type: 'activation-code-issued', actorAccountId: issuedBy, subject: `Patient/${patient.id}` });
  return { code, expiresAt, patient: patient.id, name: nameOf(patient.resource) };
}

const NO_MATCH = 'These details do not match our records. Check the MRN on your letter, your date of birth and the activation code (codes work for 30 days); or ask the clinic for a new code.';

export async function registerWithActivationCode(
  s: AccountServices,
  form: { mrn: string; birthDate: string; code: string; email: string; password: string },
  address: string,
): Promise<AccountDocument> {
  const email = checkEmail(form.email);
  const birthDate = checkBirthDate(form.birthDate);
  const throttleKey = `activation:${form.mrn}`;
  const verdict = await s.throttle.check(throttleKey, address);
  if (!verdict.allowed) throw new EnrolmentProblem('form', `Too many attempts. Wait ${Math.ceil(verdict.retryAfterSeconds / 60)} minute(s), then try again.`);
  const patient = form.mrn ? await s.records.patientByMrn(form.mrn) : undefined;
  const code = normaliseCode(form.code);
  const data = patient && patient.resource.birthDate === birthDate ? await s.secrets.peek('activation-code', code) : undefined;
  if (!patient || !data || data.patient !== patient.id) {
    await s.throttle.failure(throttleKey, address);
    await s.events.record({ type: 'sign-in-failed', address, method: 'activation-code', reason: 'registration details do not match' });
    throw new EnrolmentProblem('form', NO_MATCH);
  }
  await checkNoAccountFor(s, patient.id);
  await checkEmailFree(s, email);
  const name = nameOf(patient.resource);
  const passwordHash = await checkNewPassword(s, form.password, email, name);
  if (!(await s.secrets.use('activation-code', code))) throw new EnrolmentProblem('form', NO_MATCH);
  const account = await s.accounts.create({ email, role: 'patient', fhirUser: `Patient/${patient.id}`, name, passwordHash });
  await s.throttle.success(throttleKey);
  await s.events.record({ type: 'registered', accountId: account._id, address, method: 'activation-code', subject: `Patient/${patient.id}` });
  return account;
}

// ---- invitations ----------------------------------------------------------------------------------

/** Staff invite a patient by email (the Patient's own address unless another is given). */
export async function invitePatient(s: AccountServices, mrn: string, email: string | undefined, issuedBy?: string): Promise<{ email: string; expiresAt: Date; patient: string }> {
  const patient = await s.records.patientByMrn(mrn);
  if (!patient) throw new EnrolmentProblem('mrn', `no patient has the MRN ${mrn}`);
  const to = email ? checkEmail(email) : emailsOf(patient.resource)[0];
  if (!to) throw new EnrolmentProblem('email', 'the patient record has no email address; give one with --email');
  await checkNoAccountFor(s, patient.id);
  const { secret, expiresAt } = await s.secrets.issue('patient-invitation', { patient: patient.id, email: to, issuedBy }, INVITATION_TTL_MS);
  const link = `${s.config.baseUrl}/account/register/invitation?token=${secret}`;
  await s.mailer.send({
    to,
    subject: `Your ${s.config.clinic.name} account`,
    text: `Hello ${nameOf(patient.resource) ?? ''},\n\n${s.config.clinic.name} invites you to create an account to see your health record online.\n\nOpen this link to choose your password (it works once, for 30 days):\n${link}\n\nYou will be asked for your date of birth.\nIf you did not expect this message, you can ignore it.\n`,
  });
  await s.events.record({ type: 'invitation-sent', actorAccountId: issuedBy, subject: `Patient/${patient.id}` });
  return { email: to, expiresAt, patient: patient.id };
}

export async function registerWithPatientInvitation(s: AccountServices, form: { token: string; birthDate: string; email: string; password: string }, address: string): Promise<AccountDocument> {
  const data = await s.secrets.peek('patient-invitation', form.token);
  if (!data?.patient) throw new EnrolmentProblem('form', 'This invitation link has expired or was used already. Ask the clinic for a new one.');
  const birthDate = checkBirthDate(form.birthDate);
  const email = checkEmail(form.email);
  const patient = await s.records.read('Patient', data.patient);
  const throttleKey = `invitation:${data.patient}`;
  const verdict = await s.throttle.check(throttleKey, address);
  if (!verdict.allowed) throw new EnrolmentProblem('form', `Too many attempts. Wait ${Math.ceil(verdict.retryAfterSeconds / 60)} minute(s), then try again.`);
  if (!patient || patient.birthDate !== birthDate) {
    await s.throttle.failure(throttleKey, address);
    throw new EnrolmentProblem('birthDate', 'This date of birth does not match our records. Check it and try again.');
  }
  await checkNoAccountFor(s, data.patient);
  await checkEmailFree(s, email);
  const name = nameOf(patient);
  const passwordHash = await checkNewPassword(s, form.password, email, name);
  if (!(await s.secrets.use('patient-invitation', form.token))) throw new EnrolmentProblem('form', 'This invitation link was used already.');
  const account = await s.accounts.create({ email, role: 'patient', fhirUser: `Patient/${data.patient}`, name, passwordHash });
  await s.events.record({ type: 'registered', accountId: account._id, address, method: 'invitation', subject: `Patient/${data.patient}` });
  return account;
}

/** A patient (from their account) or staff invite a proxy: the person a RelatedPerson describes. */
export async function inviteProxy(s: AccountServices, relatedPersonId: string, email: string | undefined, issuedBy?: string, forPatient?: string): Promise<{ email: string; expiresAt: Date; patient: string; relatedPerson: string }> {
  const related = await s.records.read('RelatedPerson', relatedPersonId);
  const patientRef = (related?.patient as { reference?: string } | undefined)?.reference ?? '';
  const patient = patientRef.startsWith('Patient/') ? patientRef.slice('Patient/'.length) : undefined;
  if (!related || !patient) throw new EnrolmentProblem('relatedPerson', `no RelatedPerson ${relatedPersonId} linked to a patient`);
  if (forPatient && forPatient !== patient) throw new EnrolmentProblem('relatedPerson', 'this person is not linked to your record');
  const to = email ? checkEmail(email) : emailsOf(related)[0];
  if (!to) throw new EnrolmentProblem('email', 'the RelatedPerson has no email address; give one');
  const patientResource = await s.records.read('Patient', patient);
  const { secret, expiresAt } = await s.secrets.issue('proxy-invitation', { patient, relatedPerson: relatedPersonId, email: to, issuedBy }, INVITATION_TTL_MS);
  const link = `${s.config.baseUrl}/account/register/proxy?token=${secret}`;
  await s.mailer.send({
    to,
    subject: `You are invited to see ${nameOf(patientResource) ?? 'a patient'}’s health record`,
    text: `Hello ${nameOf(related) ?? ''},\n\nYou are invited to see ${nameOf(patientResource) ?? 'a patient'}’s health record at ${s.config.clinic.name} online.\n\nOpen this link to accept (it works once, for 30 days). If you have an account with us already, sign in; otherwise create one:\n${link}\n\nIf you did not expect this message, you can ignore it.\n`,
  });
  await s.events.record({ type: 'invitation-sent', actorAccountId: issuedBy, subject: `RelatedPerson/${relatedPersonId}` });
  return { email: to, expiresAt, patient, relatedPerson: relatedPersonId };
}

/** Accepts a proxy invitation: into the signed-in account, or a new proxy account. */
export async function acceptProxyInvitation(
  s: AccountServices,
  form: { token: string; email?: string; password?: string },
  address: string,
  signedIn?: AccountDocument,
): Promise<AccountDocument> {
  const data = await s.secrets.peek('proxy-invitation', form.token);
  if (!data?.patient || !data.relatedPerson) throw new EnrolmentProblem('form', 'This invitation link has expired or was used already. Ask for a new one.');
  const link = { relatedPerson: data.relatedPerson, patient: data.patient };
  if (signedIn) {
    if (!(await s.secrets.use('proxy-invitation', form.token))) throw new EnrolmentProblem('form', 'This invitation link was used already.');
    await s.accounts.addProxyLink(signedIn._id, link);
    await s.events.record({ type: 'registered', accountId: signedIn._id, address, method: 'proxy-invitation', subject: `RelatedPerson/${data.relatedPerson}` });
    return (await s.accounts.byId(signedIn._id))!;
  }
  const email = checkEmail(form.email ?? '');
  await checkEmailFree(s, email);
  const related = await s.records.read('RelatedPerson', data.relatedPerson);
  const name = nameOf(related);
  const passwordHash = await checkNewPassword(s, form.password ?? '', email, name);
  if (!(await s.secrets.use('proxy-invitation', form.token))) throw new EnrolmentProblem('form', 'This invitation link was used already.');
  const account = await s.accounts.create({ email, role: 'proxy', proxyFor: [link], name, passwordHash });
  await s.events.record({ type: 'registered', accountId: account._id, address, method: 'proxy-invitation', subject: `RelatedPerson/${data.relatedPerson}` });
  return account;
}

// ---- staff and admins ---------------------------------------------------------------------------

/** Creates a staff or admin account and mails its set-password link. */
export async function createStaffAccount(
  s: AccountServices,
  o: { email: string; role: 'staff' | 'admin'; practitioner?: string; createdBy?: string },
): Promise<{ accountId: string; email: string; role: string; fhirUser?: string; setPasswordLinkSentTo: string }> {
  const email = checkEmail(o.email);
  let fhirUser: string | undefined;
  let name: string | undefined;
  if (o.practitioner) {
    const id = o.practitioner.replace(/^Practitioner\//, '');
    const practitioner = await s.records.read('Practitioner', id);
    if (!practitioner) throw new EnrolmentProblem('practitioner', `no Practitioner ${id}`);
    fhirUser = `Practitioner/${id}`;
    name = nameOf(practitioner);
  } else if (o.role === 'staff') {
    throw new EnrolmentProblem('practitioner', 'a staff account needs --practitioner Practitioner/ID');
  }
  await checkEmailFree(s, email);
  const account = await s.accounts.create({ email, role: o.role, fhirUser, name });
  await s.events.record({ type: 'account-created', accountId: account._id, actorAccountId: o.createdBy, subject: fhirUser });
  await sendSetPasswordLink(s, account);
  return { accountId: account._id, email, role: o.role, fhirUser, setPasswordLinkSentTo: email };
}

export async function sendSetPasswordLink(s: AccountServices, account: AccountDocument): Promise<void> {
  await s.secrets.withdraw('set-password', { accountId: account._id });
  const { secret } = await s.secrets.issue('set-password', { accountId: account._id, email: account.email }, SET_PASSWORD_TTL_MS);
  await s.mailer.send({
    to: account.email,
    subject: `Your ${s.config.clinic.name} ${account.role} account`,
    text: `Hello${account.name ? ` ${account.name}` : ''},\n\nAn account was created for you at ${s.config.clinic.name}. Your username is ${account.email}.\n\nOpen this link to choose your password (it works once, for 7 days):\n${s.config.baseUrl}/account/reset?token=${secret}\n\nWhen you first sign in, you will set up an authenticator app on your phone.\n`,
  });
}
