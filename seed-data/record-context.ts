// Everything the builders of one patient's record share: the plan, the dated course, the value
// model, the clinic directory, who the patient's clinicians are, and the list the resources go to.
import type { FhirResource, Reference, Resource } from 'fhir/r4';
import type { ClinicDirectory, StaffMember } from './clinic.ts';
import type { ClinicalCourse } from './clinical-course.ts';
import type { ConditionKey } from './condition-catalog.ts';
import type { IdFactory } from './ids.ts';
import type { PatientPlan } from './patient-plan.ts';
import type { Physiology } from './physiology.ts';
import type { Random } from './random.ts';

export interface RecordContext {
  rng: Random;
  ids: IdFactory;
  now: Date;
  plan: PatientPlan;
  course: ClinicalCourse;
  physiology: Physiology;
  clinic: ClinicDirectory;
  patientId: string;
  /** In-bundle reference to the Patient entry (urn:uuid:...), resolved by the server on load. */
  patientRef: Reference & { reference: string };
  patientDisplay: string;
  mrn: string;
  /** Primary care clinician, and the nurse who answers portal messages. */
  pcp: StaffMember;
  nurse: StaffMember;
  specialists: Partial<Record<ConditionKey, StaffMember>>;
  resources: FhirResource[];
  /** Per-patient running numbers for human-readable identifiers (appointment, statement). */
  numbers: Record<string, number>;
}

export function nextNumber(ctx: RecordContext, kind: string): number {
  ctx.numbers[kind] = (ctx.numbers[kind] ?? 0) + 1;
  return ctx.numbers[kind];
}

/** In-bundle reference to an entry of the same patient bundle. */
export function urnRef(resource: Resource & { id?: string }, display?: string): Reference & { reference: string } {
  if (!resource.id) throw new Error(`urnRef: ${resource.resourceType} has no id`);
  const ref: Reference & { reference: string } = { reference: `urn:uuid:${resource.id}` };
  if (display !== undefined) ref.display = display;
  return ref;
}

/** Gives the resource its deterministic id and adds it to the record. */
export function addResource<T extends FhirResource>(ctx: RecordContext, resource: T): T & { id: string } {
  const { resourceType, id, ...rest } = resource;
  // Keep "resourceType, id" first in the JSON for readability of the committed bundles.
  const ordered = { resourceType, id: id ?? ctx.ids.next(resourceType), ...rest } as unknown as T & { id: string };
  ctx.resources.push(ordered);
  return ordered;
}
