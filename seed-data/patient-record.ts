// Builds one patient's complete record, in an order where every resource exists before another
// points at it: Patient, proxy, visits (with appointments, vitals, labs, summaries), problems,
// allergies, prescriptions, upcoming appointments, statements, messages.
import type { FhirResource, HumanName, Patient, Reference } from 'fhir/r4';
import { futureAndMissedAppointments, buildAppointment } from './appointments.ts';
import { type ClinicDirectory, type StaffMember, staffIn } from './clinic.ts';
import { buildClinicalCourse } from './clinical-course.ts';
import type { ConditionKey } from './condition-catalog.ts';
import { addDays, addMonths, startOfDay } from './dates.ts';
import { recordVisit, type RecordedVisit } from './encounters.ts';
import { IdFactory, uuidFromName } from './ids.ts';
import { prescriptions } from './medications.ts';
import { messageThreads } from './communications.ts';
import { statements } from './invoices.ts';
import { buildPatient, buildProxy, mrnFor } from './patient.ts';
import { type PatientPlan, planPatient, type Scenario } from './patient-plan.ts';
import { Physiology } from './physiology.ts';
import { personName } from './pools.ts';
import { allergies, problemList } from './problems.ts';
import { Random } from './random.ts';
import type { RecordContext } from './record-context.ts';
import { scheduleVisits, upcomingRoutineVisits } from './visits.ts';

export interface PatientRecord {
  index: number;
  patientId: string;
  mrn: string;
  name: string;
  plan: PatientPlan;
  resources: FhirResource[];
}

export interface RecordOptions {
  seed: string;
  now: Date;
  historyYears: number;
}

/** Patient ids depend only on (seed, index), so other tools can address patient N directly. */
export function patientIdFor(seed: string, index: number): string {
  return uuidFromName(`${seed}/patient/${index}/Patient`);
}

function chooseClinicians(rng: Random, clinic: ClinicDirectory, plan: PatientPlan): { pcp: StaffMember; nurse: StaffMember; specialists: Partial<Record<ConditionKey, StaffMember>> } {
  const child = plan.age < 18;
  const dept = child ? 'pediatrics' : rng.chance(plan.age >= 60 ? 0.6 : 0.3) ? 'internal-medicine' : 'family-medicine';
  const pcp = rng.pick(staffIn(clinic, dept, rng.chance(0.8) ? 'physician' : 'nurse-practitioner'));
  const nurse = rng.pick(staffIn(clinic, pcp.department, 'nurse'));
  const specialists: Partial<Record<ConditionKey, StaffMember>> = {};
  const has = (k: ConditionKey) => plan.conditions.some((c) => c.key === k);
  if (has('diabetes')) specialists.diabetes = rng.pick(staffIn(clinic, 'endocrinology', 'physician'));
  if (has('atrial-fibrillation')) specialists['atrial-fibrillation'] = rng.pick(staffIn(clinic, 'cardiology', 'physician'));
  return { pcp, nurse, specialists };
}

/** The random stream and context of patient `index`, up to the Patient resource. */
function patientContext(options: RecordOptions, clinic: ClinicDirectory, index: number, scenario?: Scenario): { ctx: RecordContext; name: HumanName } {
  // Independent random stream per patient: patient 17 is identical whether 20 or 100,000 are made.
  const rng = Random.derive(options.seed, 'patient', index);
  const plan = planPatient(rng, scenario);
  const course = buildClinicalCourse(rng, plan, options.now, options.historyYears);
  const physiology = new Physiology(rng, plan, course);
  const { pcp, nurse, specialists } = chooseClinicians(rng, clinic, plan);
  const name = personName(rng, plan.sex);
  const patientId = patientIdFor(options.seed, index);
  const ctx: RecordContext = {
    rng,
    ids: new IdFactory(options.seed, `patient/${index}`),
    now: options.now,
    plan,
    course,
    physiology,
    clinic,
    patientId,
    patientRef: { reference: `urn:uuid:${patientId}` },
    patientDisplay: name.text!,
    mrn: mrnFor(options.seed, index),
    pcp,
    nurse,
    specialists,
    resources: [],
    numbers: {},
  };
  return { ctx, name };
}

/** Patient `index` alone, as in its record (a fraction of the cost of the whole record). */
export function generatePatient(options: RecordOptions, clinic: ClinicDirectory, index: number, scenario?: Scenario): Patient & { id: string } {
  const { ctx, name } = patientContext(options, clinic, index, scenario);
  return buildPatient(ctx, name);
}

export function generatePatientRecord(options: RecordOptions, clinic: ClinicDirectory, index: number, scenario?: Scenario): PatientRecord {
  const { ctx, name } = patientContext(options, clinic, index, scenario);
  const { rng, plan, patientId, mrn } = ctx;

  const patient = buildPatient(ctx, name);
  const proxy = buildProxy(ctx, patient);

  const today = startOfDay(options.now);
  const visits = scheduleVisits(ctx);
  const recorded: RecordedVisit[] = visits.map((visit, i) => {
    // Visits of the last year were booked through the scheduling system, so they have a
    // fulfilled Appointment the Encounter points back to.
    let appointment: Reference | undefined;
    if (visit.start >= addMonths(today, -12) && visit.kind !== 'acute') {
      const appt = buildAppointment(ctx, {
        status: 'fulfilled',
        kind: visit.kind,
        reasons: visit.reasons,
        clinician: visit.clinician,
        start: visit.start,
        created: addDays(startOfDay(visit.start), -rng.int(14, 80)),
      });
      appointment = { reference: `urn:uuid:${appt.id}` };
    }
    return recordVisit(ctx, visit, i + 1, appointment);
  });
  const conditionRefs = problemList(ctx, recorded);
  allergies(ctx);
  const rx = prescriptions(ctx, recorded, conditionRefs);
  const upcoming = futureAndMissedAppointments(ctx, upcomingRoutineVisits(ctx, visits));
  const guarantor: Reference = proxy && plan.age < 18 ? { reference: `urn:uuid:${proxy.relatedPerson.id}`, display: proxy.display } : { ...ctx.patientRef, display: ctx.patientDisplay };
  const invoices = statements(ctx, recorded, guarantor);
  const sources: Parameters<typeof messageThreads>[1] = {
    visits: recorded,
    prescriptions: rx,
    appointments: upcoming,
    invoices,
    patientFirstName: name.given![0]!,
  };
  if (proxy && plan.age < 18) {
    sources.proxy = { ref: { reference: `urn:uuid:${proxy.relatedPerson.id}`, display: proxy.display }, firstName: proxy.relatedPerson.name![0]!.given![0]! };
  }
  messageThreads(ctx, sources);

  return { index, patientId, mrn, name: name.text!, plan, resources: ctx.resources };
}
