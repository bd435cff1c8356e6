// What patients and proxies may write: only what the portal needs, checked on the resource that
// would result (not only the URL). Everything else is refused: no results, diagnoses or bills, nothing
// of another patient, no sender or author other than themselves.
//   - a message to the care team (Communication from them, about the patient);
//   - an appointment request (Appointment status=proposed, the patient a participant);
//   - a refill request (MedicationRequest intent=proposal, based on one of the patient's active prescriptions);
//   - a proxy Consent for their own proxies (patients only);
//   - cancelling their own upcoming appointment;
//   - their own contact details (Patient telecom and address).
import type { FhirResource as Resource } from 'fhir/r4';
import { forbidden } from './access-policy-errors.ts';
import type { AccessView } from './access-view.ts';

/** Checks against stored data the rules need (the base of a refill, the thread of a reply). */
export interface WriteRuleData {
  /** A stored resource of the type with this id in the patient's compartment, if there is one. */
  ofPatient(type: string, id: string, patient: string): Promise<Record<string, unknown> | undefined>;
}

export type WriteAction = 'create' | 'update' | 'delete';

const CARE_TEAM = ['Practitioner/', 'PractitionerRole/', 'Organization/', 'CareTeam/', 'HealthcareService/'];

const ref = (r: unknown): string | undefined => (r as { reference?: string } | undefined)?.reference;
const refs = (list: unknown): string[] => ((list as unknown[] | undefined) ?? []).map(ref).filter((r): r is string => Boolean(r));
const idOf = (reference: string | undefined, type: string): string | undefined =>
  reference?.startsWith(`${type}/`) ? reference.slice(type.length + 1) : undefined;

/** The resource without the named elements and server-owned meta, for "nothing else changed". */
function without(resource: Record<string, unknown>, keys: string[]): string {
  const copy: Record<string, unknown> = { ...resource };
  for (const k of [...keys, 'meta', 'text']) delete copy[k];
  return JSON.stringify(copy, Object.keys(copy).sort());
}

/** Who the caller is in the patient's record: Patient/… or RelatedPerson/…. */
function self(view: AccessView, patient: string): string {
  return view.proxy ? `RelatedPerson/${view.proxy.relatedPerson}` : `Patient/${patient}`;
}

export async function assertPatientWrite(
  view: AccessView,
  data: WriteRuleData,
  action: WriteAction,
  type: string,
  next: Resource | undefined,
  existing: Resource | undefined,
): Promise<void> {
  const patient = (view.patients as string[])[0];
  const refuse = (why: string) => forbidden(`${view.proxy ? 'A proxy' : 'A patient'} cannot ${why}`);
  if (!patient) throw refuse('write without a patient in context');
  if (view.proxy && !view.proxy.act) throw refuse(`change anything: the patient granted view access only`);
  if (action === 'delete') throw refuse(`delete ${type} resources`);
  const r = next as unknown as Record<string, unknown>;
  const me = self(view, patient);

  if (type === 'Communication' && action === 'create') {
    if (ref(r.subject) !== `Patient/${patient}`) throw refuse('send a message about anyone but the patient in context');
    if (ref(r.sender) !== me) throw refuse(`send a message as anyone but ${me}`);
    const recipients = refs(r.recipient);
    if (recipients.length === 0 || !recipients.every((x) => CARE_TEAM.some((p) => x.startsWith(p)))) {
      throw refuse('send a message to anyone but the care team');
    }
    for (const earlier of refs(r.inResponseTo)) {
      const id = idOf(earlier, 'Communication');
      if (!id || !(await data.ofPatient('Communication', id, patient))) throw refuse('reply to a message of another record');
    }
    return;
  }
  if (type === 'Appointment' && action === 'create') {
    if (r.status !== 'proposed') throw refuse('book an appointment; request one (status proposed)');
    const patients = ((r.participant as Array<{ actor?: unknown }> | undefined) ?? []).map((p) => ref(p.actor)).filter((x) => x?.startsWith('Patient/'));
    if (!patients.includes(`Patient/${patient}`) || patients.some((p) => p !== `Patient/${patient}`)) {
      throw refuse('request an appointment for anyone but the patient in context');
    }
    return;
  }
  if (type === 'Appointment' && action === 'update') {
    const before = existing as unknown as Record<string, unknown> | undefined;
    if (!before) throw refuse('create an appointment with PUT');
    const upcoming = typeof before.start !== 'string' || Date.parse(before.start) > Date.now();
    if (!['booked', 'proposed', 'pending', 'waitlist'].includes(String(before.status)) || !upcoming) throw refuse('change a past or closed appointment');
    if (r.status !== 'cancelled') throw refuse('change an appointment other than by cancelling it');
    if (without(r, ['status', 'cancelationReason']) !== without(before, ['status', 'cancelationReason'])) {
      throw refuse('change an appointment other than its status and cancellation reason');
    }
    return;
  }
  if (type === 'MedicationRequest' && action === 'create') {
    if (r.intent !== 'proposal') throw refuse('prescribe; request a refill (intent proposal)');
    if (ref(r.subject) !== `Patient/${patient}`) throw refuse('request a refill for anyone but the patient in context');
    if (r.requester !== undefined && ref(r.requester) !== me) throw refuse(`request a refill as anyone but ${me}`);
    const based = refs(r.basedOn);
    if (based.length !== 1) throw refuse('request a refill without naming the one prescription it renews (basedOn)');
    const original = await data.ofPatient('MedicationRequest', idOf(based[0], 'MedicationRequest') ?? '', patient);
    if (!original || original.status !== 'active' || original.intent === 'proposal') throw refuse('request a refill of a prescription that is not their active prescription');
    return;
  }
  if (type === 'Consent' && (action === 'create' || action === 'update')) {
    if (view.proxy) throw refuse('grant or change access to the record; only the patient can');
    if (ref(r.patient) !== `Patient/${patient}`) throw refuse('grant access to another patient\'s record');
    if (!refs(r.performer).includes(`Patient/${patient}`)) throw refuse('record a grant the patient did not give (performer)');
    const actors = ((r.provision as { actor?: Array<{ reference?: unknown }> } | undefined)?.actor ?? []).map((a) => ref(a.reference));
    for (const actor of actors) {
      const id = idOf(actor, 'RelatedPerson');
      if (!id || !(await data.ofPatient('RelatedPerson', id, patient))) throw refuse('grant access to anyone but their own proxies');
    }
    if (existing && ref((existing as unknown as Record<string, unknown>).patient) !== `Patient/${patient}`) throw refuse('change another patient\'s consent');
    return;
  }
  if (type === 'Patient' && action === 'update') {
    if (r.id !== patient || !existing) throw refuse('change another patient');
    if (view.proxy && !view.proxy.types.has('Patient')) throw refuse('change the patient\'s details');
    if (without(r, ['telecom', 'address']) !== without(existing as unknown as Record<string, unknown>, ['telecom', 'address'])) {
      throw refuse('change their record other than their contact details (telecom, address)');
    }
    return;
  }
  throw refuse(`${action} ${type} resources`);
}
