// The problem list (Conditions), diagnoses of acute visits, and allergies.
import type { AllergyIntolerance, Condition, Reference } from 'fhir/r4';
import { ALLERGIES, CONDITIONS } from './condition-catalog.ts';
import { addDays, fhirDate, fhirDateTime } from './dates.ts';
import { ACUTE_CODES, type RecordedVisit } from './encounters.ts';
import { PROFILE, SYSTEM, coding, concept } from './fhir-codes.ts';
import { addResource, type RecordContext, urnRef } from './record-context.ts';

function sameDay(a: Date, b: Date): boolean {
  return fhirDate(a) === fhirDate(b);
}

/** Problem-list Conditions, one per chronic condition; returns references by condition key. */
export function problemList(ctx: RecordContext, visits: RecordedVisit[]): Map<string, Reference> {
  const refs = new Map<string, Reference>();
  for (const c of ctx.course.conditions) {
    const def = CONDITIONS[c.key];
    const diagnosisVisit = visits.find((v) => v.visit.kind === 'diagnosis' && v.visit.reasons.includes(c.key) && sameDay(v.visit.start, c.onset));
    const resolved = c.abatement !== undefined;
    const condition: Condition = {
      resourceType: 'Condition',
      meta: { profile: [PROFILE.conditionProblem] },
      clinicalStatus: concept(SYSTEM.conditionClinical, resolved ? 'resolved' : 'active', resolved ? 'Resolved' : 'Active'),
      verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
      category: [concept(SYSTEM.conditionCategory, 'problem-list-item', 'Problem List Item')],
      code: {
        coding: [coding(SYSTEM.snomed, def.snomed, def.snomedDisplay), coding(SYSTEM.icd10cm, def.icd10, def.icd10Display)],
        text: def.text,
      },
      subject: ctx.patientRef,
      onsetDateTime: fhirDate(c.onset),
      // Problems older than the generated history were carried over when the record was opened.
      recordedDate: fhirDate(c.onset >= ctx.course.historyStart ? c.onset : ctx.course.historyStart),
      recorder: (diagnosisVisit?.visit.clinician ?? ctx.pcp).reference,
    };
    if (c.abatement) condition.abatementDateTime = fhirDate(c.abatement);
    if (diagnosisVisit) condition.encounter = urnRef(diagnosisVisit.encounter);
    const saved = addResource(ctx, condition);
    refs.set(c.key, urnRef(saved, def.text));
  }
  for (const v of visits) {
    if (!v.visit.acute) continue;
    const code = ACUTE_CODES[v.visit.acute.key];
    const saved = addResource<Condition>(ctx, {
      resourceType: 'Condition',
      meta: { profile: [PROFILE.conditionEncounterDiagnosis] },
      clinicalStatus: concept(SYSTEM.conditionClinical, 'resolved', 'Resolved'),
      verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
      category: [concept(SYSTEM.conditionCategory, 'encounter-diagnosis', 'Encounter Diagnosis')],
      code: { coding: [coding(SYSTEM.snomed, code.snomed, code.display), coding(SYSTEM.icd10cm, code.icd10, code.icd10Display)], text: code.text },
      subject: ctx.patientRef,
      encounter: urnRef(v.encounter),
      onsetDateTime: fhirDate(v.visit.start),
      abatementDateTime: fhirDate(addDays(v.visit.start, 10)),
      recordedDate: fhirDateTime(v.visit.start),
      recorder: v.visit.clinician.reference,
    });
    refs.set(`acute:${fhirDate(v.visit.start)}`, urnRef(saved, code.text));
  }
  return refs;
}

export function allergies(ctx: RecordContext): void {
  const recorded = fhirDate(ctx.course.historyStart);
  if (ctx.plan.allergies.length === 0) {
    // Recording "no known allergies" is itself information the portal shows.
    addResource<AllergyIntolerance>(ctx, {
      resourceType: 'AllergyIntolerance',
      meta: { profile: [PROFILE.allergyIntolerance] },
      clinicalStatus: concept(SYSTEM.allergyClinical, 'active', 'Active'),
      verificationStatus: concept(SYSTEM.allergyVerification, 'confirmed', 'Confirmed'),
      code: concept(SYSTEM.snomed, '716186003', 'No known allergy (situation)', 'No known allergies'),
      patient: ctx.patientRef,
      recordedDate: recorded,
      recorder: ctx.pcp.reference,
    });
    return;
  }
  for (const key of ctx.plan.allergies) {
    const a = ALLERGIES[key];
    addResource<AllergyIntolerance>(ctx, {
      resourceType: 'AllergyIntolerance',
      meta: { profile: [PROFILE.allergyIntolerance] },
      clinicalStatus: concept(SYSTEM.allergyClinical, 'active', 'Active'),
      verificationStatus: concept(SYSTEM.allergyVerification, 'confirmed', 'Confirmed'),
      type: 'allergy',
      category: [a.category],
      criticality: a.criticality,
      code: concept(SYSTEM.snomed, a.snomed, a.display, a.text),
      patient: ctx.patientRef,
      recordedDate: recorded,
      recorder: ctx.pcp.reference,
      reaction: [
        {
          manifestation: [concept(SYSTEM.snomed, a.reaction.snomed, a.reaction.display)],
          severity: a.severity,
        },
      ],
    });
  }
}
