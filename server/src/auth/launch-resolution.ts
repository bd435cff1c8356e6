// Which patient an authorization is for, decided before the consent page and again when a
// remembered grant could answer without it:
// - an EHR launch: the patient (and encounter) of the launch value a staff app created;
// - a standalone launch that needs a patient (launch/patient or patient/… scopes): the person's
//   own record, or, for someone who acts for several patients, the one picked in the patient
//   picker; staff search for the patient;
// - otherwise no patient.
// See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
import { parseResourceScope } from '../access/smart-scopes.ts';
import type { AccountDirectory, AccountInfo } from './account-directory.ts';
import type { GrantContext } from './grant-contexts.ts';
import type { LaunchContexts } from './launch-contexts.ts';

export type PatientChoice = { id: string; name: string; birthDate?: string };

export type ContextResolution =
  | { kind: 'ready'; context: GrantContext }
  /** A picker is needed: the patients to choose from, or a search (staff). */
  | { kind: 'pick'; candidates: PatientChoice[] | 'search' }
  | { kind: 'refused'; reason: string };

export interface ResolutionInput {
  account: AccountInfo;
  clientId: string;
  requested: string[];
  /** The `launch` parameter (EHR launch). */
  launch?: string;
  /** The patient picked in the picker. */
  chosenPatient?: string;
}

export const needsPatient = (requested: string[]): boolean =>
  requested.includes('launch/patient') || requested.some((s) => parseResourceScope(s)?.context === 'patient');

const ownPatient = (account: AccountInfo): string | undefined => (account.fhirUser?.startsWith('Patient/') ? account.fhirUser.slice('Patient/'.length) : undefined);

export async function resolveContext(
  deps: { accounts: AccountDirectory; launches: LaunchContexts; patientExists(id: string): Promise<boolean> },
  input: ResolutionInput,
): Promise<ContextResolution> {
  const { account, clientId } = input;
  const base = { accountId: account.id, clientId };
  const staff = account.role === 'staff' || account.role === 'admin';
  if (input.launch) {
    const launch = await deps.launches.find(input.launch);
    if (!launch) return { kind: 'refused', reason: 'This launch has expired. Open the app again from the clinic’s system.' };
    if (!staff) {
      const mine = await deps.accounts.patientsOf(account);
      if (!mine.some((p) => p.id === launch.patient)) return { kind: 'refused', reason: 'This launch is for a health record your account cannot open.' };
    }
    return { kind: 'ready', context: { ...base, patient: launch.patient, encounter: launch.encounter, needPatientBanner: true } };
  }
  if (!needsPatient(input.requested)) return { kind: 'ready', context: { ...base, needPatientBanner: false } };
  if (staff) {
    if (input.chosenPatient && (await deps.patientExists(input.chosenPatient))) {
      return { kind: 'ready', context: { ...base, patient: input.chosenPatient, needPatientBanner: true } };
    }
    return { kind: 'pick', candidates: 'search' };
  }
  const candidates = await deps.accounts.patientsOf(account);
  const own = ownPatient(account);
  const ready = (patient: string): ContextResolution => ({ kind: 'ready', context: { ...base, patient, needPatientBanner: patient !== own } });
  if (input.chosenPatient) {
    if (candidates.some((c) => c.id === input.chosenPatient)) return ready(input.chosenPatient);
    return { kind: 'pick', candidates };
  }
  if (candidates.length === 0) return { kind: 'refused', reason: 'No health record is linked to your account yet. Contact the clinic.' };
  if (candidates.length === 1) return ready(candidates[0].id);
  return { kind: 'pick', candidates };
}
