// Appointments around the reference date: fulfilled ones behind last year's visits, a past
// cancellation or no-show, booked routine follow-ups ahead, and the portal's own kinds: a
// patient request awaiting the clinic (proposed) and an upcoming visit the patient cancelled.
import type { Appointment, AppointmentParticipant } from 'fhir/r4';
import type { StaffMember } from './clinic.ts';
import { staffIn } from './clinic.ts';
import { CONDITIONS, type ConditionKey } from './condition-catalog.ts';
import { addDays, addMinutes, atClinicTime, fhirDateTime, startOfDay, toWeekday } from './dates.ts';
import { VISIT_TYPES } from './encounters.ts';
import { IDENTIFIER, PROFILE, SYSTEM, coding, concept } from './fhir-codes.ts';
import { addResource, nextNumber, type RecordContext } from './record-context.ts';
import type { PlannedVisit, VisitKind } from './visits.ts';

const APPOINTMENT_TYPE_DISPLAY = {
  CHECKUP: 'A routine check-up, such as an annual physical',
  FOLLOWUP: 'A follow up visit from a previous appointment',
  ROUTINE: 'Routine appointment - default if not valued',
} as const;

const CANCEL_REASON = {
  pat: 'Patient',
  prov: 'Provider',
} as const;

export interface AppointmentSpec {
  status: Appointment['status'];
  kind: VisitKind;
  reasons: ConditionKey[];
  clinician: StaffMember;
  /** Absent for a proposed appointment (see requested). */
  start?: Date;
  created: Date;
  requested?: { start: Date; end: Date };
  cancel?: keyof typeof CANCEL_REASON;
  description?: string;
  comment?: string;
  patientInstruction?: string;
}

export function buildAppointment(ctx: RecordContext, spec: AppointmentSpec): Appointment & { id: string } {
  const type = VISIT_TYPES[spec.kind];
  const participants: AppointmentParticipant[] = [
    { actor: { ...ctx.patientRef, display: ctx.patientDisplay }, required: 'required', status: 'accepted' },
    { actor: spec.clinician.reference, required: 'required', status: spec.status === 'proposed' ? 'needs-action' : 'accepted' },
    { actor: spec.clinician.campus.reference, required: 'required', status: spec.status === 'proposed' ? 'needs-action' : 'accepted' },
  ];
  const appointment: Appointment = {
    resourceType: 'Appointment',
    meta: { profile: [PROFILE.portalAppointment] },
    identifier: [{ system: IDENTIFIER.appointment, value: `${ctx.mrn}-A${String(nextNumber(ctx, 'appointment')).padStart(3, '0')}` }],
    status: spec.status,
    appointmentType: { coding: [coding(SYSTEM.v2AppointmentType, type.appointmentType, APPOINTMENT_TYPE_DISPLAY[type.appointmentType])], text: type.text },
    description: spec.description ?? (spec.reasons.length > 0 ? `${type.text}: ${spec.reasons.map((r) => CONDITIONS[r].text.toLowerCase()).join(', ')}` : type.text),
    created: fhirDateTime(spec.created),
    participant: participants,
  };
  if (spec.cancel) appointment.cancelationReason = concept(SYSTEM.appointmentCancellation, spec.cancel, CANCEL_REASON[spec.cancel]);
  if (spec.reasons.length > 0) {
    appointment.reasonCode = spec.reasons.map((r) => concept(SYSTEM.snomed, CONDITIONS[r].snomed, CONDITIONS[r].snomedDisplay, CONDITIONS[r].text));
  }
  if (spec.start) {
    appointment.start = fhirDateTime(spec.start);
    appointment.end = fhirDateTime(addMinutes(spec.start, type.minutes));
    appointment.minutesDuration = type.minutes;
  }
  if (spec.requested) appointment.requestedPeriod = [{ start: fhirDateTime(spec.requested.start), end: fhirDateTime(spec.requested.end) }];
  if (spec.comment) appointment.comment = spec.comment;
  if (spec.patientInstruction) appointment.patientInstruction = spec.patientInstruction;
  return addResource(ctx, appointment);
}

function instructionFor(kind: VisitKind, fasting: boolean): string {
  if (fasting) return 'Please arrive 15 minutes early. Labs will be drawn: do not eat after midnight; water and your usual medicines are fine.';
  if (kind === 'well-child') return "Please bring your child's immunization record.";
  return 'Please arrive 15 minutes early and bring a list of your current medicines.';
}

/** Appointments for the future and the recent past that have no Encounter behind them. */
export function futureAndMissedAppointments(ctx: RecordContext, upcoming: PlannedVisit[]): Array<Appointment & { id: string }> {
  const { rng, now, plan } = ctx;
  const today = startOfDay(now);
  const out: Array<Appointment & { id: string }> = [];
  const bookedAgo = () => addDays(today, -rng.int(20, 90));

  for (const v of upcoming) {
    const fasting = v.reasons.includes('diabetes') || v.kind === 'annual';
    out.push(buildAppointment(ctx, { status: 'booked', kind: v.kind, reasons: v.reasons, clinician: v.clinician, start: v.start, created: bookedAgo(), patientInstruction: instructionFor(v.kind, fasting) }));
  }
  for (let i = 0; i < plan.extraUpcomingAppointments; i++) {
    const day = toWeekday(addDays(today, rng.int(10, 120)));
    const specialist = Object.entries(ctx.specialists)[0];
    const clinician = specialist && rng.chance(0.5) ? specialist[1]! : rng.pick(staffIn(ctx.clinic, ctx.pcp.department, 'physician'));
    const reasons = specialist && clinician === specialist[1] ? [specialist[0] as ConditionKey] : [];
    out.push(buildAppointment(ctx, { status: 'booked', kind: reasons.length > 0 ? 'follow-up' : 'diagnosis', reasons, clinician, start: atClinicTime(day, rng.int(0, 23)), created: bookedAgo(), description: reasons.length > 0 ? undefined : 'Office visit', patientInstruction: instructionFor('follow-up', false) }));
  }
  if (plan.proposedAppointment) {
    const from = toWeekday(addDays(today, rng.int(5, 12)));
    const ask = plan.age < 18 ? 'Rash on both arms for a week, not getting better with lotion.' : rng.pick(['Knee pain when climbing stairs.', 'I would like to discuss my sleep problems.', 'Follow-up on my blood pressure readings at home.']);
    out.push(buildAppointment(ctx, { status: 'proposed', kind: 'diagnosis', reasons: [], clinician: ctx.pcp, created: addDays(now, -rng.int(1, 3)), requested: { start: atClinicTime(from, 0), end: atClinicTime(addDays(from, 11), 26) }, description: 'Appointment request', comment: ask }));
  }
  if (plan.cancelledUpcomingAppointment) {
    const day = toWeekday(addDays(today, rng.int(3, 30)));
    out.push(buildAppointment(ctx, { status: 'cancelled', kind: 'follow-up', reasons: [], clinician: ctx.pcp, start: atClinicTime(day, rng.int(0, 23)), created: bookedAgo(), cancel: 'pat', description: 'Office visit', comment: 'Cancelled by the patient in the portal.' }));
  }
  // Somewhere in the past year, one visit that did not happen.
  if (rng.chance(0.35)) {
    const day = toWeekday(addDays(today, -rng.int(20, 330)));
    const noshow = rng.chance(0.4);
    const spec: AppointmentSpec = { status: noshow ? 'noshow' : 'cancelled', kind: 'follow-up', reasons: [], clinician: ctx.pcp, start: atClinicTime(day, rng.int(0, 23)), created: addDays(day, -rng.int(14, 60)), description: 'Office visit' };
    if (!noshow) {
      spec.cancel = rng.chance(0.7) ? 'pat' : 'prov';
      spec.comment = spec.cancel === 'prov' ? 'Clinician unavailable; the clinic called to reschedule.' : 'Patient called to cancel.';
    }
    out.push(buildAppointment(ctx, spec));
  }
  return out;
}
