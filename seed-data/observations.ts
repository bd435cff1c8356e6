// Lab results (Observation + a DiagnosticReport per panel) and vital signs for one visit.
import type { DiagnosticReport, Observation, ObservationReferenceRange, Quantity, Reference } from 'fhir/r4';
import { addDays, fhirDateTime } from './dates.ts';
import { PROFILE, SYSTEM, coding, concept } from './fhir-codes.ts';
import { ANALYTES, interpret, limitsFor, PANELS, type PanelKey } from './lab-catalog.ts';
import { addResource, type RecordContext } from './record-context.ts';
import type { VitalSigns } from './physiology.ts';

const INTERPRETATION_DISPLAY = { H: 'High', L: 'Low', N: 'Normal' } as const;

const LAB_CATEGORY = [concept(SYSTEM.observationCategory, 'laboratory', 'Laboratory')];
const VITALS_CATEGORY = [concept(SYSTEM.observationCategory, 'vital-signs', 'Vital Signs')];

function quantity(value: number, unit: string, code: string): Quantity {
  return { value, unit, system: SYSTEM.ucum, code };
}

export interface LabResult {
  panel: PanelKey;
  report: DiagnosticReport & { id: string };
  observations: Array<Observation & { id: string }>;
}

/** One panel drawn at a visit: each analyte an Observation, grouped by a lab DiagnosticReport. */
export function labPanel(ctx: RecordContext, panelKey: PanelKey, collected: Date, encounter: Reference): LabResult {
  const panel = PANELS[panelKey];
  const values = ctx.physiology.panel(panelKey, collected);
  // Results come back the next morning.
  const issued = addDays(collected, 1);
  const lab = ctx.clinic.departments.find((d) => d.key === 'laboratory')!;
  const observations = panel.analytes.map((key) => {
    const analyte = ANALYTES[key];
    const value = values.get(key)!;
    const limits = limitsFor(analyte, ctx.plan.sex);
    const flag = interpret(value, limits);
    const range: ObservationReferenceRange = {};
    if (limits.low !== undefined) range.low = quantity(limits.low, analyte.unit, analyte.ucum);
    if (limits.high !== undefined) range.high = quantity(limits.high, analyte.unit, analyte.ucum);
    range.text =
      limits.low !== undefined && limits.high !== undefined
        ? `${limits.low}–${limits.high} ${analyte.unit}`
        : limits.high !== undefined
          ? `≤ ${limits.high} ${analyte.unit}`
          : `≥ ${limits.low} ${analyte.unit}`;
    const obs: Observation = {
      resourceType: 'Observation',
      meta: { profile: [PROFILE.observationLab] },
      status: 'final',
      category: LAB_CATEGORY,
      code: { coding: [coding(SYSTEM.loinc, analyte.loinc, analyte.display)], text: analyte.text },
      subject: ctx.patientRef,
      encounter,
      effectiveDateTime: fhirDateTime(collected),
      issued: fhirDateTime(issued),
      performer: [lab.reference],
      valueQuantity: quantity(value, analyte.unit, analyte.ucum),
      interpretation: [
        { coding: [coding(SYSTEM.v3Interpretation, flag, INTERPRETATION_DISPLAY[flag])], text: INTERPRETATION_DISPLAY[flag] },
      ],
      referenceRange: [range],
    };
    return addResource(ctx, obs);
  });
  const abnormal = observations.filter((o) => o.interpretation?.[0]?.coding?.[0]?.code !== 'N');
  const report = addResource<DiagnosticReport>(ctx, {
    resourceType: 'DiagnosticReport',
    meta: { profile: [PROFILE.diagnosticReportLab] },
    status: 'final',
    category: [concept(SYSTEM.v2DiagnosticService, 'LAB', 'Laboratory')],
    code: { coding: [coding(SYSTEM.loinc, panel.loinc, panel.display)], text: panel.text },
    subject: ctx.patientRef,
    encounter,
    effectiveDateTime: fhirDateTime(collected),
    issued: fhirDateTime(issued),
    performer: [lab.reference],
    result: observations.map((o) => ({ reference: `urn:uuid:${o.id}`, display: o.code.text! })),
    conclusion:
      abnormal.length === 0
        ? 'All results within the reference range.'
        : `Outside the reference range: ${abnormal.map((o) => `${o.code.text} ${o.valueQuantity!.value} ${o.valueQuantity!.unit} (${o.interpretation![0]!.coding![0]!.code})`).join('; ')}.`,
  });
  return { panel: panelKey, report, observations };
}

function vitalObservation(
  ctx: RecordContext,
  when: Date,
  encounter: Reference,
  loinc: string,
  display: string,
  text: string,
  value: Quantity,
): Observation & { id: string } {
  return addResource<Observation>(ctx, {
    resourceType: 'Observation',
    meta: { profile: [PROFILE.vitalSigns] },
    status: 'final',
    category: VITALS_CATEGORY,
    code: { coding: [coding(SYSTEM.loinc, loinc, display)], text },
    subject: ctx.patientRef,
    encounter,
    effectiveDateTime: fhirDateTime(when),
    performer: [ctx.nurse.reference],
    valueQuantity: value,
  });
}

/** Vital signs taken at the start of a visit. Height only when it is measured (children, physicals). */
export function vitalSigns(ctx: RecordContext, when: Date, encounter: Reference, v: VitalSigns, measureHeight: boolean): Array<Observation & { id: string }> {
  const out: Array<Observation & { id: string }> = [];
  out.push(
    addResource<Observation>(ctx, {
      resourceType: 'Observation',
      meta: { profile: [PROFILE.bloodPressure] },
      status: 'final',
      category: VITALS_CATEGORY,
      code: { coding: [coding(SYSTEM.loinc, '85354-9', 'Blood pressure panel with all children optional')], text: 'Blood pressure' },
      subject: ctx.patientRef,
      encounter,
      effectiveDateTime: fhirDateTime(when),
      performer: [ctx.nurse.reference],
      component: [
        { code: { coding: [coding(SYSTEM.loinc, '8480-6', 'Systolic blood pressure')], text: 'Systolic' }, valueQuantity: quantity(v.systolic, 'mmHg', 'mm[Hg]') },
        { code: { coding: [coding(SYSTEM.loinc, '8462-4', 'Diastolic blood pressure')], text: 'Diastolic' }, valueQuantity: quantity(v.diastolic, 'mmHg', 'mm[Hg]') },
      ],
    }),
  );
  out.push(vitalObservation(ctx, when, encounter, '8867-4', 'Heart rate', 'Heart rate', quantity(v.heartRate, 'beats/minute', '/min')));
  if (v.temperatureC !== undefined) {
    out.push(vitalObservation(ctx, when, encounter, '8310-5', 'Body temperature', 'Temperature', quantity(v.temperatureC, 'C', 'Cel')));
  }
  if (measureHeight) out.push(vitalObservation(ctx, when, encounter, '8302-2', 'Body height', 'Height', quantity(v.heightCm, 'cm', 'cm')));
  out.push(vitalObservation(ctx, when, encounter, '29463-7', 'Body weight', 'Weight', quantity(v.weightKg, 'kg', 'kg')));
  out.push(vitalObservation(ctx, when, encounter, '39156-5', 'Body mass index (BMI) [Ratio]', 'BMI', quantity(v.bmi, 'kg/m2', 'kg/m2')));
  return out;
}
