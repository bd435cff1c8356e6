// The search benchmark's portal data: per patient 12 Observations (final, labs and vital signs,
// so released to the patient at once), 2 Appointments, 3 Communications and 2 Invoices, with
// simple made-up values. Patient i has the id p<i> and an MRN of the clinic's MRN system, which
// (with the date of birth) is what a patient account is registered with.
import type { FhirResource as Resource } from 'fhir/r4';
import { IDENTIFIER } from '../../seed-data/fhir-codes.ts';

const LAB = ['2345-7', '718-7', '2160-0', '2093-3', '4548-4'];
const VITAL = ['8867-4', '8480-6', '29463-7'];
const DAY = 86400000;

const rand = (n: number) => Math.floor(Math.random() * n);

export const PORTAL_TYPES = ['Patient', 'Observation', 'Appointment', 'Communication', 'Invoice'];

export const MRN_SYSTEM = IDENTIFIER.mrn;

/** What identifies benchmark patient i: the id, the MRN and the date of birth (registration asks for both). */
export function portalPerson(i: number): { id: string; mrn: string; birthDate: string } {
  return { id: `p${i}`, mrn: String(700_000_000 + i), birthDate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 9}` };
}

/** Benchmark patient i and its portal resources. */
export function portalPatientData(i: number, now: number): Resource[] {
  const { id: pid, mrn, birthDate } = portalPerson(i);
  const subject = { reference: `Patient/${pid}` };
  const out: Resource[] = [
    { resourceType: 'Patient', id: pid, identifier: [{ system: MRN_SYSTEM, value: mrn }], name: [{ family: `Family${i % 500}`, given: [`Given${i}`] }], gender: i % 2 ? 'male' : 'female', birthDate } as Resource,
  ];
  for (let k = 0; k < 12; k++) {
    const lab = k % 3 !== 0;
    const code = lab ? LAB[k % LAB.length] : VITAL[k % VITAL.length];
    out.push({
      resourceType: 'Observation', id: `${pid}-o${k}`, status: 'final', subject,
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: lab ? 'laboratory' : 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code }] },
      effectiveDateTime: new Date(now - rand(3 * 365) * DAY).toISOString(),
      valueQuantity: { value: 50 + rand(100), unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    } as Resource);
  }
  for (let k = 0; k < 2; k++) {
    const start = now + (k === 0 ? 1 : -1) * (1 + rand(60)) * DAY;
    out.push({ resourceType: 'Appointment', id: `${pid}-a${k}`, status: 'booked', start: new Date(start).toISOString(), end: new Date(start + 1800000).toISOString(), participant: [{ actor: subject, status: 'accepted' }, { actor: { reference: `Practitioner/dr${i % 50}` }, status: 'accepted' }] } as Resource);
  }
  for (let k = 0; k < 3; k++) {
    out.push({ resourceType: 'Communication', id: `${pid}-c${k}`, status: 'completed', subject, recipient: [subject], sent: new Date(now - rand(400) * DAY).toISOString(), payload: [{ contentString: 'Your results are ready' }] } as Resource);
  }
  for (let k = 0; k < 2; k++) {
    out.push({ resourceType: 'Invoice', id: `${pid}-i${k}`, status: k === 0 ? 'issued' : 'balanced', subject, date: new Date(now - rand(200) * DAY).toISOString(), totalGross: { value: 20 + rand(300), currency: 'USD' } } as Resource);
  }
  return out;
}

/** Every resource of `patients` benchmark patients, lazily. */
export function* portalData(patients: number): Generator<Resource> {
  const now = Date.now();
  for (let i = 0; i < patients; i++) yield* portalPatientData(i, now);
}
