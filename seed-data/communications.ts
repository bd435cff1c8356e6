// Portal message threads (Communication, portal-communication profile). A thread is a first
// message and replies that each point to the message they answer (inResponseTo). Templates are
// chosen from what the record holds: a refill for an active prescription, a question about an
// abnormal result, fasting before an upcoming visit, a bill, a sick child (written by the proxy).
import type { Appointment, Communication, Invoice, Observation, Reference } from 'fhir/r4';
import { addDays, addMinutes, fhirDate, fhirDateTime, startOfDay } from './dates.ts';
import { PORTAL_CODESYSTEM, PROFILE } from './fhir-codes.ts';
import { ANALYTES } from './lab-catalog.ts';
import type { PrescriptionRecord } from './medications.ts';
import type { RecordedVisit } from './encounters.ts';
import { addResource, type RecordContext, urnRef } from './record-context.ts';

type Category = 'general' | 'medical-question' | 'prescription-refill' | 'appointment' | 'billing' | 'test-result';

const CATEGORY_DISPLAY: Record<Category, string> = {
  general: 'General',
  'medical-question': 'Medical question',
  'prescription-refill': 'Prescription refill',
  appointment: 'Appointment',
  billing: 'Billing',
  'test-result': 'Test result',
};

interface Party {
  ref: Reference;
}

interface ThreadMessage {
  from: 'patient' | 'clinic';
  text: string;
  /** Hours after the previous message. */
  after: number;
}

interface ThreadTemplate {
  category: Category;
  topic: string;
  clinic: Reference;
  about?: Reference;
  /** The thread cannot start before what it is about exists (prescription, result, bill, booking). */
  notBefore?: Date;
  /** ...nor, for "since I started ..." questions, long after. */
  notAfter?: Date;
  messages: ThreadMessage[];
}

export interface MessageSources {
  visits: RecordedVisit[];
  prescriptions: PrescriptionRecord[];
  appointments: Array<Appointment & { id: string }>;
  invoices: Array<Invoice & { id: string }>;
  /** The proxy writes for a child; an elderly patient's adult child may too. */
  proxy?: { ref: Reference; firstName: string };
  patientFirstName: string;
}

function candidateThreads(ctx: RecordContext, src: MessageSources): ThreadTemplate[] {
  const { rng, now } = ctx;
  const out: ThreadTemplate[] = [];
  const first = src.patientFirstName;
  const writer = src.proxy ? src.proxy.firstName : first;
  const childWord = ctx.plan.sex === 'female' ? 'daughter' : 'son';
  const forWhom = ctx.plan.age < 18 ? `my ${childWord} ${first}'s` : 'my';

  const active = src.prescriptions.filter(
    (p) => p.request.status === 'active' && (p.request.dispenseRequest?.numberOfRepeatsAllowed ?? 0) > 0 && new Date(p.request.authoredOn!) < addDays(now, -10),
  );
  if (active.length > 0) {
    const p = rng.pick(active);
    const med = p.request.medicationCodeableConcept!.text!;
    out.push({
      category: 'prescription-refill',
      topic: `Refill: ${med}`,
      clinic: ctx.nurse.reference,
      about: urnRef(p.request),
      notBefore: addDays(new Date(p.request.authoredOn!), 7),
      messages: [
        { from: 'patient', text: `Hi, I'm running low on ${forWhom} ${med.toLowerCase()}. Could you send a refill to the pharmacy on file?`, after: 0 },
        { from: 'clinic', text: `Hi ${writer}, the refill for ${med.toLowerCase()} has been sent to your pharmacy and should be ready tomorrow. The prescription allows ${p.request.dispenseRequest!.numberOfRepeatsAllowed} refills in total and is valid until ${p.request.dispenseRequest!.validityPeriod!.end}.`, after: rng.int(3, 20) },
        { from: 'patient', text: 'Thank you!', after: rng.int(1, 6) },
      ],
    });
  }

  const abnormal: Array<Observation & { id: string }> = [];
  for (const v of src.visits) for (const lab of v.labs) for (const o of lab.observations) if (o.interpretation?.[0]?.coding?.[0]?.code !== 'N' && new Date(o.issued!) > addDays(now, -400)) abnormal.push(o);
  if (abnormal.length > 0) {
    const o = abnormal[abnormal.length - 1]!;
    const flag = o.interpretation![0]!.coding![0]!.code === 'H' ? 'high' : 'low';
    const q = o.valueQuantity!;
    const analyte = Object.values(ANALYTES).find((a) => a.loinc === o.code.coding![0]!.code)!;
    const advice =
      analyte.key === 'hba1c'
        ? 'HbA1c reflects your average blood sugar over about three months. Keep taking your metformin with meals, and we will recheck it at your next visit.'
        : analyte.key === 'ldl' || analyte.key === 'cholesterol' || analyte.key === 'triglycerides'
          ? 'Cholesterol responds slowly; keep taking your medicine every evening and we will repeat the panel in a few months.'
          : analyte.key === 'hemoglobin' || analyte.key === 'hematocrit' || analyte.key === 'mcv' || analyte.key === 'rbc'
            ? 'This fits the iron deficiency we are treating. Keep taking the iron tablets; it usually takes two to three months to recover.'
            : 'A small change like this is common and not worrying on its own; we will repeat it at your next visit.';
    out.push({
      category: 'test-result',
      topic: `Question about my ${analyte.text} result`,
      clinic: ctx.pcp.reference,
      about: urnRef(o),
      notBefore: new Date(o.issued!),
      messages: [
        { from: 'patient', text: `My ${analyte.text} from ${fhirDate(new Date(o.effectiveDateTime!))} came back ${q.value} ${q.unit} and is marked ${flag}. Should I be worried?`, after: 0 },
        { from: 'clinic', text: `Hi ${writer}, thanks for asking. ${analyte.text} of ${q.value} ${q.unit} is ${flag === 'high' ? 'above' : 'below'} the reference range (${o.referenceRange![0]!.text}). ${advice}`, after: rng.int(4, 30) },
      ],
    });
  }

  const upcoming = src.appointments.filter((a) => a.status === 'booked' && a.start && new Date(a.start) > now);
  if (upcoming.length > 0) {
    const a = upcoming[0]!;
    out.push({
      category: 'appointment',
      topic: 'Fasting before my appointment?',
      clinic: ctx.nurse.reference,
      about: urnRef(a),
      notBefore: new Date(a.created!),
      messages: [
        { from: 'patient', text: `Do I need to fast before ${ctx.plan.age < 18 ? `${first}'s` : 'my'} appointment on ${fhirDate(new Date(a.start!))}?`, after: 0 },
        { from: 'clinic', text: a.patientInstruction?.includes('do not eat') ? 'Yes: labs are planned, so nothing to eat after midnight. Water and usual medicines are fine.' : 'No fasting needed for this visit. See you then!', after: rng.int(2, 18) },
      ],
    });
  }

  const unpaid = src.invoices.filter((i) => i.status === 'issued');
  if (unpaid.length > 0) {
    const inv = unpaid[unpaid.length - 1]!;
    const billing = ctx.clinic.departments.find((d) => d.key === 'billing')!;
    out.push({
      category: 'billing',
      topic: `Statement ${inv.identifier![0]!.value}`,
      clinic: billing.reference,
      about: urnRef(inv),
      notBefore: addDays(new Date(inv.date!), 3),
      messages: [
        { from: 'patient', text: `I received a statement for $${inv.totalGross!.value!.toFixed(2)}. Has my insurance already paid its part?`, after: 0 },
        { from: 'clinic', text: `Yes. Your insurer paid $${inv.totalPriceComponent![1]!.amount!.value!.toFixed(2)} and the contracted adjustment was $${inv.totalPriceComponent![2]!.amount!.value!.toFixed(2)}; the $${inv.totalGross!.value!.toFixed(2)} left is your share. You can pay it in the portal under Billing.`, after: rng.int(20, 50) },
      ],
    });
  }

  if (ctx.plan.age < 18 && src.proxy) {
    out.push({
      category: 'medical-question',
      topic: `${first} has a cough`,
      clinic: ctx.nurse.reference,
      messages: [
        { from: 'patient', text: `${first} has had a dry cough for five days, no fever, eating and sleeping fine. Should we bring ${ctx.plan.sex === 'female' ? 'her' : 'him'} in?`, after: 0 },
        { from: 'clinic', text: `Hi ${writer}, a cough without fever that is not getting worse can usually be watched at home: fluids, honey if over one year old, and a humidifier at night. Please book a visit if it lasts beyond two weeks, or call us right away if breathing looks hard.`, after: rng.int(1, 6) },
        { from: 'patient', text: 'Thanks, that helps. We will keep an eye on it.', after: rng.int(1, 4) },
      ],
    });
  } else if (src.prescriptions.some((p) => p.course.key === 'metformin-500' || p.course.key === 'metformin-1000')) {
    // Asked in the weeks after metformin was started or increased.
    const latest = src.prescriptions.filter((p) => p.course.key.startsWith('metformin')).map((p) => p.course.start).sort((a, b) => a.getTime() - b.getTime()).pop()!;
    const increased = src.prescriptions.some((p) => p.course.key === 'metformin-1000' && p.course.start.getTime() === latest.getTime());
    out.push({
      category: 'medical-question',
      topic: 'Upset stomach on metformin',
      clinic: ctx.pcp.reference,
      notBefore: addDays(latest, 5),
      notAfter: addDays(latest, 40),
      messages: [
        { from: 'patient', text: `Since ${increased ? 'my metformin dose was increased' : 'starting metformin'} I have had an upset stomach most mornings. Is that normal?`, after: 0 },
        { from: 'clinic', text: `Hi ${writer}, that is a common side effect in the first weeks. Take it in the middle of a meal rather than before, and it usually settles. If it does not improve in two weeks, let me know and we can switch to the extended-release form.`, after: rng.int(5, 30) },
        { from: 'patient', text: 'Taking it with dinner helped. Thanks!', after: rng.int(48, 200) },
      ],
    });
  } else {
    out.push({
      category: 'general',
      topic: 'Flu shot',
      clinic: ctx.nurse.reference,
      messages: [
        { from: 'patient', text: 'Can I get a flu shot without an appointment?', after: 0 },
        { from: 'clinic', text: `Yes, walk-in flu shots are available at all campuses on weekdays from 8 to 4. Bring your insurance card. See you soon, ${writer}!`, after: rng.int(2, 20) },
      ],
    });
  }
  return out;
}

/** Writes up to plan.messageThreads threads; returns the messages. */
export function messageThreads(ctx: RecordContext, src: MessageSources): Array<Communication & { id: string }> {
  const { rng, now, plan } = ctx;
  const latest = addDays(startOfDay(now), -2);
  const windowOf = (t: ThreadTemplate) => {
    const from = t.notBefore && t.notBefore > addDays(now, -400) ? t.notBefore : addDays(now, -200);
    const to = t.notAfter && t.notAfter < latest ? t.notAfter : latest;
    return { from: startOfDay(from), to };
  };
  const possible = candidateThreads(ctx, src).filter((t) => {
    const w = windowOf(t);
    return w.from <= w.to;
  });
  const templates = rng.sample(possible, plan.messageThreads);
  const out: Array<Communication & { id: string }> = [];
  const lastReplies: Array<Communication & { id: string }> = [];
  const patientParty: Party = { ref: src.proxy ? src.proxy.ref : { ...ctx.patientRef, display: ctx.patientDisplay } };
  templates.forEach((t, threadIndex) => {
    // The first thread started a few days ago if it can (its last reply may still be unread);
    // the others somewhere in their window.
    const w = windowOf(t);
    const recent = addDays(startOfDay(now), -6);
    const from = threadIndex === 0 && recent <= w.to && recent >= w.from ? recent : w.from;
    const span = Math.floor((w.to.getTime() - from.getTime()) / 86400000);
    let at = addMinutes(addDays(from, rng.int(0, Math.max(0, span))), rng.int(13 * 60, 27 * 60));
    let previous: (Communication & { id: string }) | undefined;
    t.messages.forEach((m, i) => {
      const previousAt = at;
      at = addMinutes(at, m.after * 60 + rng.int(0, 59));
      // A reply that would land after "now" is squeezed in before it, still after the message it answers.
      if (at >= now) at = new Date(previousAt.getTime() + Math.floor((now.getTime() - previousAt.getTime()) / 120000) * 60000);
      const fromPatient = m.from === 'patient';
      const last = i === t.messages.length - 1;
      const message: Communication = {
        resourceType: 'Communication',
        meta: { profile: [PROFILE.portalCommunication] },
        status: 'completed',
        category: [{ coding: [{ system: PORTAL_CODESYSTEM.messageCategory, code: t.category, display: CATEGORY_DISPLAY[t.category] }], text: CATEGORY_DISPLAY[t.category] }],
        subject: ctx.patientRef,
        topic: { text: t.topic },
        sent: fhirDateTime(at),
        recipient: [fromPatient ? t.clinic : patientParty.ref],
        sender: fromPatient ? patientParty.ref : t.clinic,
        payload: [{ contentString: m.text }],
      };
      if (previous) message.inResponseTo = [urnRef(previous)];
      if (t.about) message.about = [t.about];
      message.received = fhirDateTime(addMinutes(at, fromPatient ? rng.int(5, 120) : rng.int(30, 900)));
      if (new Date(message.received) > now) delete message.received;
      const saved = addResource(ctx, message);
      out.push(saved);
      if (last && !fromPatient) lastReplies.push(saved);
      previous = saved;
    });
  });
  // The clinic's most recent reply, if it closes its thread and is from the last week, has not
  // been read yet: the portal shows it as new.
  const newest = lastReplies.sort((a, b) => a.sent!.localeCompare(b.sent!)).pop();
  if (newest && new Date(newest.sent!) > addDays(now, -7)) delete newest.received;
  return out;
}
