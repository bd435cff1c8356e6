// MedicationRequests: a maintenance drug is re-prescribed every year (each prescription valid
// for a year with refills); the current one is active, earlier ones completed, one replaced by a
// dose change stopped; antibiotic courses are completed.
import type { MedicationRequest, Reference } from 'fhir/r4';
import type { MedicationCourse } from './clinical-course.ts';
import { CONDITIONS } from './condition-catalog.ts';
import { addDays, addMonths, fhirDate, fhirDateTime } from './dates.ts';
import type { RecordedVisit } from './encounters.ts';
import { PROFILE, SYSTEM, coding, concept } from './fhir-codes.ts';
import { MEDICATIONS } from './medication-catalog.ts';
import { addResource, type RecordContext, urnRef } from './record-context.ts';

export interface PrescriptionRecord {
  request: MedicationRequest & { id: string };
  course: MedicationCourse;
}

export function prescriptions(ctx: RecordContext, visits: RecordedVisit[], conditionRefs: Map<string, Reference>): PrescriptionRecord[] {
  const out: PrescriptionRecord[] = [];
  const visitOn = (d: Date) => visits.find((v) => fhirDate(v.visit.start) === fhirDate(d));
  for (const course of ctx.course.medications) {
    const def = MEDICATIONS[course.key];
    const stop = course.end && course.end < ctx.now ? course.end : undefined;
    // Authored dates: the start, then yearly renewals while the drug is taken.
    const authored: Date[] = [];
    if (def.course) authored.push(course.start);
    else for (let d = course.start; d < (stop ?? ctx.now); d = addMonths(d, 12)) authored.push(d);
    authored.forEach((date, i) => {
      const validityEnd = def.course ? addDays(date, 30) : addMonths(date, 12);
      // Prescriptions that expired before the generated history began stay in the old system.
      if (validityEnd < ctx.course.historyStart) return;
      const last = i === authored.length - 1;
      let status: MedicationRequest['status'];
      let statusReason: MedicationRequest['statusReason'];
      let end = validityEnd;
      if (!last) status = 'completed';
      // A course is over when its days are taken, even if the prescription could still be filled.
      else if (def.course) status = course.end && course.end <= ctx.now ? 'completed' : 'active';
      else if (!stop) status = 'active';
      else if (course.endReason === 'dose-changed') {
        status = 'stopped';
        statusReason = { text: 'Dose changed' };
        end = stop;
      } else {
        status = 'completed';
        statusReason = { text: course.endReason === 'condition-resolved' ? 'Treatment course completed' : 'Course finished' };
        end = stop < validityEnd ? stop : validityEnd;
      }
      const visit = visitOn(date);
      const requester = visit?.visit.clinician ?? ctx.pcp;
      const request: MedicationRequest = {
        resourceType: 'MedicationRequest',
        meta: { profile: [PROFILE.medicationRequest] },
        status,
        intent: 'order',
        category: [concept(SYSTEM.medicationRequestCategory, 'community', 'Community')],
        medicationCodeableConcept: { coding: [coding(SYSTEM.rxnorm, def.rxnorm, def.display)], text: def.text },
        subject: ctx.patientRef,
        authoredOn: visit ? fhirDateTime(visit.visit.start) : fhirDate(date),
        requester: requester.reference,
        courseOfTherapyType: concept('http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy', def.course ? 'acute' : 'continuous', def.course ? 'Short course (acute) therapy' : 'Continuous long term therapy'),
        dosageInstruction: [
          {
            sequence: 1,
            text: def.sig,
            // As-needed drugs carry no fixed schedule; the sig text says how often at most.
            ...(def.timesPerDay > 0 ? { timing: { repeat: { frequency: def.timesPerDay, period: 1, periodUnit: 'd' as const } } } : {}),
            asNeededBoolean: def.timesPerDay === 0,
            route: def.dose.code === '{puff}' ? concept(SYSTEM.snomed, '447694001', 'Respiratory tract route (qualifier value)', 'Inhaled') : concept(SYSTEM.snomed, '26643006', 'Oral route (qualifier value)', 'By mouth'),
            doseAndRate: [{ doseQuantity: { value: def.dose.value, unit: def.dose.unit, system: SYSTEM.ucum, code: def.dose.code } }],
          },
        ],
        dispenseRequest: {
          validityPeriod: { start: fhirDate(date), end: fhirDate(end) },
          numberOfRepeatsAllowed: def.refills,
          quantity: { value: def.quantity.value, unit: def.quantity.unit, system: SYSTEM.ucum, code: def.quantity.code },
          expectedSupplyDuration: { value: def.supplyDays, unit: 'days', system: SYSTEM.ucum, code: 'd' },
        },
        substitution: { allowedBoolean: true },
      };
      if (statusReason) request.statusReason = statusReason;
      if (visit) request.encounter = urnRef(visit.encounter);
      const reason = course.condition ? conditionRefs.get(course.condition) : conditionRefs.get(`acute:${fhirDate(date)}`);
      if (course.condition) request.reasonCode = [concept(SYSTEM.snomed, CONDITIONS[course.condition].snomed, CONDITIONS[course.condition].snomedDisplay, CONDITIONS[course.condition].text)];
      if (reason) request.reasonReference = [reason];
      out.push({ request: addResource(ctx, request), course });
    });
  }
  return out;
}
