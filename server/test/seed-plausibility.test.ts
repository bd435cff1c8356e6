// Clinical and administrative plausibility of generated records: flags agree with ranges, series
// trend the way the stories say, prescriptions, appointments, messages and bills agree with the
// reference date and with each other.
import { expect } from 'chai';
import type {
  Appointment,
  Communication,
  Condition,
  Consent,
  FhirResource,
  Invoice,
  MedicationRequest,
  Observation,
  Patient,
  RelatedPerson,
} from 'fhir/r4';
import { DEMO_OPTIONS, DEMO_SCENARIOS } from '../../seed-data/demo-set.ts';
import { SeedGenerator } from '../../seed-data/generator.ts';
import { interpret } from '../../seed-data/lab-catalog.ts';
import { MEDICATIONS, PENICILLINS } from '../../seed-data/medication-catalog.ts';
import type { PatientRecord } from '../../seed-data/patient-record.ts';

const demo = new SeedGenerator(DEMO_OPTIONS);
const demoRecords = DEMO_SCENARIOS.map((s, i) => demo.patientRecord(i, s));
const random = new SeedGenerator({ seed: 'plausibility' });
const randomRecords = Array.from({ length: 60 }, (_, i) => random.patientRecord(i));
const all: Array<{ record: PatientRecord; now: Date }> = [
  ...demoRecords.map((record) => ({ record, now: demo.options.now })),
  ...randomRecords.map((record) => ({ record, now: random.options.now })),
];

function ofType<T extends FhirResource>(record: PatientRecord, type: T['resourceType']): T[] {
  return record.resources.filter((r): r is T => r.resourceType === type);
}

const loinc = (o: Observation) => o.code.coding?.find((c) => c.system === 'http://loinc.org')?.code;
const t = (s: string | undefined) => new Date(s!).getTime();
const lab = (o: Observation) => o.category?.some((c) => c.coding?.some((x) => x.code === 'laboratory'));

function series(record: PatientRecord, code: string): Array<{ at: number; value: number }> {
  return ofType<Observation>(record, 'Observation')
    .filter((o) => loinc(o) === code)
    .map((o) => ({ at: t(o.effectiveDateTime), value: o.valueQuantity!.value! }))
    .sort((a, b) => a.at - b.at);
}

describe('seed data: clinical plausibility', () => {
  it('every lab flag (H/L/N) is what the value and its reference range give', () => {
    let checked = 0;
    for (const { record } of all) {
      for (const o of ofType<Observation>(record, 'Observation').filter(lab)) {
        const range = o.referenceRange![0]!;
        const limits: { low?: number; high?: number } = {};
        if (range.low?.value !== undefined) limits.low = range.low.value;
        if (range.high?.value !== undefined) limits.high = range.high.value;
        expect(o.interpretation![0]!.coding![0]!.code, `${o.code.text} ${o.valueQuantity!.value}`).to.equal(interpret(o.valueQuantity!.value!, limits));
        expect(range.low?.code ?? range.high?.code).to.equal(o.valueQuantity!.code);
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(1000);
  });

  it('abnormal results occur but most results are normal', () => {
    const flags = all.flatMap(({ record }) => ofType<Observation>(record, 'Observation').filter(lab).map((o) => o.interpretation![0]!.coding![0]!.code));
    const abnormal = flags.filter((f) => f !== 'N').length / flags.length;
    expect(abnormal).to.be.within(0.05, 0.45);
    expect(flags).to.include('H');
    expect(flags).to.include('L');
  });

  it('lipid panels add up (Friedewald) and BMI matches weight and height', () => {
    for (const { record } of all) {
      const obs = ofType<Observation>(record, 'Observation');
      const byTime = new Map<string, Map<string, number>>();
      for (const o of obs) {
        const m = byTime.get(o.effectiveDateTime!) ?? new Map<string, number>();
        m.set(loinc(o)!, o.valueQuantity?.value ?? NaN);
        byTime.set(o.effectiveDateTime!, m);
      }
      for (const m of byTime.values()) {
        if (m.has('2093-3')) {
          expect(m.get('2093-3')).to.be.closeTo(m.get('13457-7')! + m.get('2085-9')! + m.get('2571-8')! / 5, 1);
        }
      }
      const heights = series(record, '8302-2');
      for (const w of series(record, '29463-7')) {
        const h = heights.filter((x) => x.at <= w.at).pop();
        const bmi = series(record, '39156-5').find((b) => b.at === w.at)!;
        if (h && w.at - h.at < 200 * 86400000) expect(bmi.value).to.be.closeTo(w.value / (h.value / 100) ** 2, 1.5);
      }
    }
  });

  it('the diabetic story: HbA1c peaks at diagnosis, falls on metformin, rises before the dose increase and falls after it', () => {
    const record = demoRecords[1]!; // "Type 2 diabetes over 3.5 years"
    const a1c = series(record, '4548-4');
    expect(a1c.length).to.be.greaterThan(10);
    const meds = ofType<MedicationRequest>(record, 'MedicationRequest');
    const m1000 = meds.filter((m) => m.medicationCodeableConcept?.coding?.[0]?.code === MEDICATIONS['metformin-1000'].rxnorm);
    const m500 = meds.filter((m) => m.medicationCodeableConcept?.coding?.[0]?.code === MEDICATIONS['metformin-500'].rxnorm);
    expect(m1000.some((m) => m.status === 'active')).to.equal(true);
    expect(m500.some((m) => m.status === 'stopped')).to.equal(true);
    const diagnosis = t(ofType<Condition>(record, 'Condition').find((c) => c.code?.coding?.[0]?.code === '44054006')!.onsetDateTime);
    const increase = t(m1000.map((m) => m.authoredOn!).sort()[0]);
    const before = a1c.filter((x) => x.at < diagnosis);
    const atDiagnosis = a1c.find((x) => x.at >= diagnosis)!;
    expect(before.every((x) => x.value >= 5.6 && x.value < 6.8), 'prediabetic before diagnosis').to.equal(true);
    expect(atDiagnosis.value).to.be.greaterThan(7.5);
    const controlled = a1c.filter((x) => x.at > diagnosis + 150 * 86400000 && x.at < diagnosis + 400 * 86400000);
    expect(Math.max(...controlled.map((x) => x.value))).to.be.lessThan(atDiagnosis.value - 0.6);
    const beforeIncrease = a1c.filter((x) => x.at <= increase).pop()!;
    const afterIncrease = a1c.filter((x) => x.at > increase + 120 * 86400000);
    expect(beforeIncrease.value).to.be.greaterThan(7.2);
    expect(afterIncrease.length).to.be.greaterThan(0);
    expect(Math.min(...afterIncrease.map((x) => x.value))).to.be.lessThan(beforeIncrease.value - 0.3);
  });

  it('the anaemia story: haemoglobin flagged low at diagnosis and back in range on iron', () => {
    const record = demoRecords[16]!;
    const onset = t(ofType<Condition>(record, 'Condition').find((c) => c.code?.coding?.[0]?.code === '87522002')!.onsetDateTime);
    const hgb = series(record, '718-7').filter((x) => x.at >= onset);
    expect(hgb.length).to.be.greaterThan(1);
    expect(hgb[0]!.value).to.be.lessThan(12);
    expect(hgb[hgb.length - 1]!.value).to.be.greaterThan(hgb[0]!.value + 1);
  });
});

describe('seed data: prescriptions, appointments, messages, bills, proxies', () => {
  it('active prescriptions are valid now with refills; ended ones are completed or stopped with a reason', () => {
    let active = 0;
    for (const { record, now } of all) {
      for (const m of ofType<MedicationRequest>(record, 'MedicationRequest')) {
        const validity = m.dispenseRequest!.validityPeriod!;
        expect(t(m.authoredOn)).to.be.at.most(now.getTime());
        expect(validity.start! <= validity.end!).to.equal(true);
        if (m.status === 'active') {
          active++;
          expect(t(validity.end)).to.be.greaterThan(now.getTime());
          // Maintenance drugs are renewed with refills; an antibiotic course has none.
          if (m.courseOfTherapyType?.coding?.[0]?.code === 'continuous') expect(m.dispenseRequest!.numberOfRepeatsAllowed).to.be.greaterThan(0);
          else expect(t(m.authoredOn)).to.be.greaterThan(now.getTime() - 10 * 86400000);
        } else {
          expect(['completed', 'stopped']).to.include(m.status);
          if (m.status === 'stopped') expect(m.statusReason?.text).to.be.a('string');
        }
      }
    }
    expect(active).to.be.greaterThan(10);
  });

  it('nobody allergic to penicillin is prescribed a penicillin', () => {
    const penicillinCodes = new Set([...PENICILLINS].map((k) => MEDICATIONS[k].rxnorm));
    let allergic = 0;
    for (const { record } of all) {
      if (!record.plan.allergies.includes('penicillin')) continue;
      allergic++;
      for (const m of ofType<MedicationRequest>(record, 'MedicationRequest')) {
        expect(penicillinCodes.has(m.medicationCodeableConcept!.coding![0]!.code!)).to.equal(false);
      }
    }
    expect(allergic).to.be.greaterThan(1);
  });

  it('appointment statuses agree with the reference date', () => {
    const statuses = new Set<string>();
    for (const { record, now } of all) {
      for (const a of ofType<Appointment>(record, 'Appointment')) {
        statuses.add(a.status);
        expect(t(a.created)).to.be.at.most(now.getTime());
        if (a.status === 'booked') expect(t(a.start)).to.be.greaterThan(now.getTime());
        if (a.status === 'fulfilled' || a.status === 'noshow') expect(t(a.end)).to.be.lessThan(now.getTime());
        if (a.status === 'proposed') {
          expect(a.start).to.equal(undefined);
          expect(t(a.requestedPeriod![0]!.start)).to.be.greaterThan(now.getTime());
        }
        if (a.status === 'cancelled') expect(a.cancelationReason?.coding?.[0]?.code).to.be.oneOf(['pat', 'prov']);
        if (a.start) expect(t(a.start)).to.be.lessThan(t(a.end));
      }
    }
    expect([...statuses].sort()).to.include.members(['booked', 'cancelled', 'fulfilled', 'proposed']);
  });

  it('message threads are chains: each reply answers the previous message and comes after it', () => {
    let replies = 0;
    for (const { record, now } of all) {
      const messages = ofType<Communication>(record, 'Communication');
      const byId = new Map(messages.map((m) => [`urn:uuid:${m.id}`, m]));
      for (const m of messages) {
        expect(t(m.sent)).to.be.at.most(now.getTime());
        if (m.received) {
          expect(t(m.received)).to.be.at.least(t(m.sent));
          expect(t(m.received)).to.be.at.most(now.getTime());
        }
        // A thread about a prescription, result, appointment or bill starts after that thing exists.
        const about = m.about?.[0] && record.resources.find((r) => `urn:uuid:${r.id}` === m.about![0]!.reference);
        if (about) {
          const a = about as { authoredOn?: string; issued?: string; created?: string; date?: string };
          const existsFrom = a.authoredOn ?? a.issued ?? a.created ?? a.date;
          expect(t(existsFrom), `${m.topic?.text} sent ${m.sent}`).to.be.lessThan(t(m.sent));
        }
        const parent = m.inResponseTo?.[0];
        if (!parent) continue;
        replies++;
        const previous = byId.get(parent.reference!)!;
        expect(previous, 'reply to a message of the same record').to.not.equal(undefined);
        expect(previous.topic?.text).to.equal(m.topic?.text);
        expect(t(previous.sent)).to.be.lessThan(t(m.sent));
        expect(previous.sender?.reference).to.equal(m.recipient?.[0]?.reference);
      }
    }
    expect(replies).to.be.greaterThan(20);
  });

  it('statements add up and their statuses match the story', () => {
    for (const { record } of all) {
      const invoices = ofType<Invoice>(record, 'Invoice');
      for (const inv of invoices) {
        const lines = inv.lineItem!.reduce((s, l) => s + l.priceComponent![0]!.amount!.value!, 0);
        const [base, insurance, adjustment] = inv.totalPriceComponent!.map((c) => c.amount!.value!);
        expect(base).to.be.closeTo(lines, 0.005);
        expect(base! - insurance! - adjustment!).to.be.closeTo(inv.totalGross!.value!, 0.011);
        expect(inv.totalGross!.value).to.be.at.least(0);
        if (inv.status === 'cancelled') expect(inv.cancelledReason).to.be.a('string');
      }
      const issued = invoices.filter((i) => i.status === 'issued').length;
      const wanted = record.plan.unpaidInvoices;
      expect(issued).to.equal(Math.min(wanted, invoices.filter((i) => i.status !== 'cancelled').length));
    }
    expect(ofType<Invoice>(demoRecords[9]!, 'Invoice').map((i) => i.status)).to.include.members(['issued', 'balanced', 'cancelled']);
  });

  it('proxies: a parent for each minor with a grant ending at 18, an adult child for elderly patients; a minor\'s bills go to the parent', () => {
    for (const { record } of all) {
      const people = ofType<RelatedPerson>(record, 'RelatedPerson');
      const consents = ofType<Consent>(record, 'Consent');
      expect(people.length).to.equal(record.plan.proxy ? 1 : 0);
      expect(consents.length).to.equal(people.length);
      if (!record.plan.proxy) continue;
      const patient = ofType<Patient>(record, 'Patient')[0]!;
      const person = people[0]!;
      const consent = consents[0]!;
      expect(person.patient.reference).to.equal(`urn:uuid:${patient.id}`);
      expect(consent.provision!.actor![0]!.reference!.reference).to.equal(`urn:uuid:${person.id}`);
      expect(consent.status).to.equal('active');
      const relationship = person.relationship![0]!.coding![0]!.code;
      if (record.plan.proxy === 'parent') {
        expect(relationship).to.be.oneOf(['MTH', 'FTH']);
        const eighteenth = `${Number(patient.birthDate!.slice(0, 4)) + 18}${patient.birthDate!.slice(4)}`;
        expect(consent.provision!.period!.end).to.equal(eighteenth);
        for (const inv of ofType<Invoice>(record, 'Invoice')) expect(inv.recipient!.reference).to.equal(`urn:uuid:${person.id}`);
      } else {
        expect(relationship).to.be.oneOf(['DAU', 'SON']);
        expect(consent.provision!.period!.end).to.equal(undefined);
        expect(record.plan.age).to.be.at.least(70);
      }
    }
    const kinds = demoRecords.map((r) => r.plan.proxy).filter(Boolean);
    expect(kinds).to.include.members(['parent', 'adult-child']);
  });

  it('conditions: resolved ones have an abatement date, active ones none; onset not before birth', () => {
    for (const { record, now } of all) {
      const birth = ofType<Patient>(record, 'Patient')[0]!.birthDate!;
      for (const c of ofType<Condition>(record, 'Condition')) {
        const status = c.clinicalStatus!.coding![0]!.code;
        expect(status === 'resolved').to.equal(c.abatementDateTime !== undefined);
        expect(c.onsetDateTime! >= birth).to.equal(true);
        expect(t(c.onsetDateTime)).to.be.at.most(now.getTime());
      }
    }
  });
});
