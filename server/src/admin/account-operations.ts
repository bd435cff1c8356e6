// Account administration, for the CLI (account-commands.ts) and the admin API (admin-api.ts):
// activation codes, invitations, staff and admin accounts, unlocking.
import { createLogger } from '../logger.ts';
import { createAccountServices, type AccountServices } from '../auth/accounts/account-services.ts';
import { normaliseEmail } from '../auth/accounts/account-store.ts';
import { createStaffAccount, EnrolmentProblem, invitePatient, inviteProxy, issueActivationCode } from '../auth/accounts/enrolment.ts';
import { fhirPatientRecords } from '../auth/accounts/fhir-records.ts';
import { ResourceRepository } from '../fhir/repo/resource-repository.ts';
import { createSearch } from '../fhir/router/search.ts';
import { createResourceIndexer } from '../fhir/search/indexer.ts';
import { AdminUsageError, type AdminContext } from './admin-operations.ts';

/** The account services of an admin context: the server's own (API), or built for the CLI. */
export async function accountServicesOf(ctx: AdminContext): Promise<AccountServices> {
  if (ctx.accountServices) return ctx.accountServices;
  const repo = new ResourceRepository(ctx.db, createResourceIndexer({ baseUrl: `${ctx.config.baseUrl}/fhir` }));
  const search = createSearch({ config: ctx.config, repo });
  const records = fhirPatientRecords((type, id) => repo.find(type, id), search.findMatches);
  ctx.accountServices = await createAccountServices({ config: ctx.config, log: createLogger('warn'), db: ctx.db, box: ctx.box, accounts: ctx.accounts, records });
  return ctx.accountServices;
}

/** Problems the person can fix become usage errors (CLI: exit 2; API: 400). */
async function usage<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof EnrolmentProblem) throw new AdminUsageError(err.message);
    throw err;
  }
}

function required(value: string | undefined, option: string): string {
  if (!value || !value.trim()) throw new AdminUsageError(`${option} is required`);
  return value.trim();
}

export async function activationCode(ctx: AdminContext, args: { mrn?: string; actor?: string }) {
  const mrn = required(args.mrn, '--mrn');
  const s = await accountServicesOf(ctx);
  const issued = await usage(() => issueActivationCode(s, mrn, args.actor));
  return {
    mrn,
    patient: `Patient/${issued.patient}`,
    name: issued.name,
    activationCode: issued.code,
    expiresAt: issued.expiresAt.toISOString(),
    note: 'shown once: give it to the patient now (a new code replaces this one)',
  };
}

export async function invitePatientByEmail(ctx: AdminContext, args: { mrn?: string; email?: string; actor?: string }) {
  const s = await accountServicesOf(ctx);
  const sent = await usage(() => invitePatient(s, required(args.mrn, '--mrn'), args.email, args.actor));
  return { patient: `Patient/${sent.patient}`, invitationSentTo: sent.email, expiresAt: sent.expiresAt.toISOString() };
}

export async function inviteProxyByEmail(ctx: AdminContext, args: { relatedPerson?: string; email?: string; actor?: string }) {
  const s = await accountServicesOf(ctx);
  const id = required(args.relatedPerson, '--related-person').replace(/^RelatedPerson\//, '');
  const sent = await usage(() => inviteProxy(s, id, args.email, args.actor));
  return { relatedPerson: `RelatedPerson/${sent.relatedPerson}`, patient: `Patient/${sent.patient}`, invitationSentTo: sent.email, expiresAt: sent.expiresAt.toISOString() };
}

export async function addStaff(ctx: AdminContext, args: { email?: string; practitioner?: string; actor?: string }) {
  const s = await accountServicesOf(ctx);
  const practitioner = required(args.practitioner, '--practitioner');
  if (!/^(Practitioner\/)?[A-Za-z0-9\-.]{1,64}$/.test(practitioner)) throw new AdminUsageError('--practitioner must be Practitioner/ID');
  return usage(() => createStaffAccount(s, { email: required(args.email, '--email'), role: 'staff', practitioner, createdBy: args.actor }));
}

export async function addAdmin(ctx: AdminContext, args: { email?: string; actor?: string }) {
  const s = await accountServicesOf(ctx);
  return usage(() => createStaffAccount(s, { email: required(args.email, '--email'), role: 'admin', createdBy: args.actor }));
}

export async function unlockUser(ctx: AdminContext, args: { email?: string; actor?: string }) {
  const s = await accountServicesOf(ctx);
  const email = normaliseEmail(required(args.email, '--email'));
  const account = await s.accounts.byEmail(email);
  const wasLocked = await s.throttle.unlock(email);
  if (account) await s.throttle.unlock(`second-factor:${account._id}`);
  if (!account) throw new AdminUsageError(`no account has the email ${email}`);
  await s.events.record({ type: 'unlocked', accountId: account._id, actorAccountId: args.actor, reason: 'admin' });
  return { email, unlocked: wasLocked, note: wasLocked ? 'the account can sign in again' : 'the account was not locked' };
}
