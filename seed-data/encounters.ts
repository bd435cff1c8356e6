// One past visit: the Encounter, its vital signs and labs, and a visit summary (a US Core
// DiagnosticReport note whose narrative and conclusion the portal shows as "After-visit summary").
import type { DiagnosticReport, Encounter, Reference } from 'fhir/r4';
import type { AcuteKey } from './clinical-course.ts';
import { conditionActive, onMedication } from './clinical-course.ts';
import { CONDITIONS } from './condition-catalog.ts';
import { addMinutes, fhirDate, fhirDateTime } from './dates.ts';
import { IDENTIFIER, PROFILE, SYSTEM, coding, concept } from './fhir-codes.ts';
import { MEDICATIONS } from './medication-catalog.ts';
import { labPanel, type LabResult, vitalSigns } from './observations.ts';
import { addResource, type RecordContext, urnRef } from './record-context.ts';
import type { Visit, VisitKind } from './visits.ts';

export const ACUTE_CODES: Record<AcuteKey, { snomed: string; display: string; icd10: string; icd10Display: string; text: string }> = {
  'strep-throat': { snomed: '43878008', display: 'Streptococcal sore throat', icd10: 'J02.0', icd10Display: 'Streptococcal pharyngitis', text: 'Strep throat' },
  sinusitis: { snomed: '15805002', display: 'Acute sinusitis', icd10: 'J01.90', icd10Display: 'Acute sinusitis, unspecified', text: 'Sinus infection' },
  'otitis-media': { snomed: '65363002', display: 'Otitis media', icd10: 'H66.90', icd10Display: 'Otitis media, unspecified, unspecified ear', text: 'Ear infection' },
  bronchitis: { snomed: '10509002', display: 'Acute bronchitis', icd10: 'J20.9', icd10Display: 'Acute bronchitis, unspecified', text: 'Acute bronchitis' },
};

/** Encounter type (SNOMED) and appointment type (v2-0276, as the portal-appointment profile binds). */
export const VISIT_TYPES: Record<VisitKind, { snomed: string; display: string; text: string; appointmentType: 'CHECKUP' | 'FOLLOWUP' | 'ROUTINE'; minutes: number }> = {
  'well-child': { snomed: '410620009', display: 'Well child visit', text: 'Well-child check', appointmentType: 'CHECKUP', minutes: 30 },
  annual: { snomed: '185349003', display: 'Encounter for check up', text: 'Annual physical', appointmentType: 'CHECKUP', minutes: 40 },
  diagnosis: { snomed: '185345009', display: 'Encounter for symptom', text: 'Office visit', appointmentType: 'ROUTINE', minutes: 20 },
  'follow-up': { snomed: '390906007', display: 'Follow-up encounter', text: 'Follow-up visit', appointmentType: 'FOLLOWUP', minutes: 20 },
  acute: { snomed: '185345009', display: 'Encounter for symptom', text: 'Sick visit', appointmentType: 'ROUTINE', minutes: 20 },
};

export interface RecordedVisit {
  visit: Visit;
  encounter: Encounter & { id: string };
  labs: LabResult[];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function recordVisit(ctx: RecordContext, visit: Visit, visitNumber: number, appointment?: Reference): RecordedVisit {
  const type = VISIT_TYPES[visit.kind];
  const end = addMinutes(visit.start, type.minutes);
  const reasonCodes = visit.acute
    ? [concept(SYSTEM.snomed, ACUTE_CODES[visit.acute.key].snomed, ACUTE_CODES[visit.acute.key].display, ACUTE_CODES[visit.acute.key].text)]
    : visit.reasons.map((k) => concept(SYSTEM.snomed, CONDITIONS[k].snomed, CONDITIONS[k].snomedDisplay, CONDITIONS[k].text));
  const encounter: Encounter = {
    resourceType: 'Encounter',
    meta: { profile: [PROFILE.encounter] },
    identifier: [{ system: IDENTIFIER.encounter, value: `${ctx.mrn}-V${String(visitNumber).padStart(3, '0')}` }],
    status: 'finished',
    class: coding(SYSTEM.v3ActCode, 'AMB', 'ambulatory'),
    type: [concept(SYSTEM.snomed, type.snomed, type.display, type.text)],
    subject: ctx.patientRef,
    participant: [
      {
        type: [concept(SYSTEM.v3ParticipationType, 'PPRF', 'primary performer')],
        period: { start: fhirDateTime(visit.start), end: fhirDateTime(end) },
        individual: visit.clinician.reference,
      },
    ],
    period: { start: fhirDateTime(visit.start), end: fhirDateTime(end) },
    location: [{ location: visit.clinician.campus.reference, status: 'completed' }],
    serviceProvider: ctx.clinic.departments.find((d) => d.key === visit.clinician.department)?.reference ?? ctx.clinic.organization,
  };
  if (appointment) encounter.appointment = [appointment];
  if (reasonCodes.length > 0) encounter.reasonCode = reasonCodes;
  const enc = addResource(ctx, encounter);
  const encRef = urnRef(enc);

  const ageYears = (visit.start.getTime() - ctx.course.birthDate.getTime()) / (365.25 * 86400000);
  const measureHeight = ageYears < 18 || visit.kind === 'annual' || visitNumber === 1;
  const v = ctx.physiology.vitals(visit.start, visit.kind === 'acute' && ctx.rng.chance(0.6));
  vitalSigns(ctx, visit.start, encRef, v, measureHeight);
  const labs = visit.panels.map((p) => labPanel(ctx, p, addMinutes(visit.start, type.minutes - 5), encRef));

  // The after-visit summary: plain sentences a patient can read.
  const lines: string[] = [];
  lines.push(`${type.text} with ${visit.clinician.display} at ${visit.clinician.campus.name} on ${fhirDate(visit.start)}.`);
  if (visit.acute) lines.push(`Reason for visit: ${ACUTE_CODES[visit.acute.key].text.toLowerCase()}.`);
  else if (visit.reasons.length > 0) lines.push(`Reason for visit: ${visit.reasons.map((k) => CONDITIONS[k].text.toLowerCase()).join(', ')}.`);
  const vitalsLine = `Vital signs: blood pressure ${v.systolic}/${v.diastolic} mmHg, heart rate ${v.heartRate}/min, weight ${v.weightKg} kg, BMI ${v.bmi}${v.temperatureC !== undefined ? `, temperature ${v.temperatureC} °C` : ''}.`;
  lines.push(vitalsLine);
  if (labs.length > 0) lines.push(`Labs drawn today: ${labs.map((l) => l.report.code.text).join(', ')}. Results will appear in your record.`);
  const plan: string[] = [];
  for (const k of visit.reasons) {
    const def = CONDITIONS[k];
    const med = ctx.course.medications.find((m) => m.condition === k && m.start.getTime() <= visit.start.getTime() && (!m.end || m.end > visit.start));
    const started = med && Math.abs(med.start.getTime() - visit.start.getTime()) < 86400000;
    if (visit.intensification && k === 'diabetes' && med) plan.push(`${def.text}: HbA1c has risen above goal; increased to ${MEDICATIONS[med.key].text.toLowerCase()}, ${MEDICATIONS[med.key].sig.toLowerCase()}.`);
    else if (med && started) plan.push(`${def.text}: diagnosed today. Started ${MEDICATIONS[med.key].text.toLowerCase()}: ${MEDICATIONS[med.key].sig.toLowerCase()}.`);
    else if (med) plan.push(`${def.text}: continue ${MEDICATIONS[med.key].text.toLowerCase()}.`);
    else if (visit.kind === 'diagnosis') plan.push(`${def.text}: diagnosed today; lifestyle measures discussed.`);
    else plan.push(`${def.text}: stable; no change.`);
  }
  if (visit.acute) {
    const med = MEDICATIONS[visit.acute.medication];
    plan.push(`${ACUTE_CODES[visit.acute.key].text}: ${med.text.toLowerCase()}, ${med.sig.toLowerCase()}. Call us if not better in 3 days.`);
  }
  if (visit.kind === 'annual' || visit.kind === 'well-child') plan.push('Routine screening reviewed; keep up regular exercise and a balanced diet.');
  if (conditionActive(ctx.course, 'diabetes', visit.start) && !visit.reasons.includes('diabetes') && onMedication(ctx.course, 'metformin-1000', visit.start)) {
    plan.push('Type 2 diabetes: continue metformin 1000 mg twice daily.');
  }
  lines.push(`Plan: ${plan.join(' ')}`);
  const summary = lines.join('\n');

  addResource<DiagnosticReport>(ctx, {
    resourceType: 'DiagnosticReport',
    meta: { profile: [PROFILE.diagnosticReportNote] },
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml">${lines.map((l) => `<p>${escapeXml(l)}</p>`).join('')}</div>`,
    },
    status: 'final',
    // US Core's DiagnosticReport category codes (radiology, cardiology, pathology) do not fit a
    // primary-care visit note; the binding is extensible, so use US Core's own "clinical note".
    category: [concept(SYSTEM.usCoreDocumentCategory, 'clinical-note', 'Clinical Note', 'Visit summary')],
    code: { coding: [coding(SYSTEM.loinc, '11506-3', 'Progress note')], text: `${type.text} summary` },
    subject: ctx.patientRef,
    encounter: encRef,
    effectiveDateTime: fhirDateTime(visit.start),
    issued: fhirDateTime(end),
    performer: [visit.clinician.reference],
    conclusion: summary,
  });

  return { visit, encounter: enc, labs };
}
