// Turns "this search is about Patient X" into a condition on the partition key (the top-level
// `patient` field), so patient-scoped searches lead with the indexed/sharded field.
// See: https://hl7.org/fhir/R4/compartmentdefinition-patient.html
import type { Document } from 'mongodb';
import r4model from 'fhirpath/fhir-context/r4';
import { patientCompartmentParams } from '../compartment.ts';
import type { SearchParam, SearchParamRegistry } from '../registry.ts';

const repeating = (r4model as unknown as { path2Repeating: Record<string, boolean> }).path2Repeating;

/** True when the parameter's expression is one path that can hold at most one value. */
function singleValued(param: SearchParam): boolean {
  const path = param.expression?.replace(/\.where\(reference\.matches\('[^']*'\)\)$/, '');
  if (!path || !/^[A-Za-z]+(\.[A-Za-z]+)+$/.test(path)) return false;
  const segs = path.split('.');
  for (let i = 2; i <= segs.length; i++) if (repeating[segs.slice(0, i).join('.')]) return false;
  return true;
}

/**
 * The partition condition implied by a reference condition on `param` to these patients, or
 * undefined when the parameter does not place resources in a patient compartment.
 * - The first compartment parameter, when single-valued, decides `patient` by itself → equality.
 * - Any other compartment parameter still implies membership: `patient` or `patients`.
 */
export function partitionCondition(
  type: string,
  searchParam: SearchParam,
  patientIds: string[],
  registry: SearchParamRegistry,
): Document | undefined {
  if (patientIds.length === 0) return undefined;
  const kind = partitionKind(type, searchParam, registry);
  if (kind === 'none') return undefined;
  const value = patientIds.length === 1 ? patientIds[0] : { $in: patientIds };
  return kind === 'patient' ? { patient: value } : membership(value);
}

/** In these patients' compartments: the partition key, or the array of a resource in several. */
const membership = (value: string | Document): Document => ({ $or: [{ patient: value }, { patients: value }] });

type PartitionKind = 'patient' | 'membership' | 'none';

/** Worked out once per type and parameter (it depends on nothing else), then remembered. */
const partitionKinds = new WeakMap<SearchParam, Map<string, PartitionKind>>();

function partitionKind(type: string, searchParam: SearchParam, registry: SearchParamRegistry): PartitionKind {
  let byType = partitionKinds.get(searchParam);
  if (!byType) partitionKinds.set(searchParam, (byType = new Map()));
  let kind = byType.get(type);
  if (kind === undefined) {
    const param = compartmentEquivalent(type, searchParam, registry);
    const compartmentParams = patientCompartmentParams(type);
    if (type === 'Patient' || !compartmentParams.includes(param.code)) kind = 'none';
    else if (compartmentParams[0] === param.code && singleValued(param)) kind = 'patient';
    else kind = 'membership';
    byType.set(type, kind);
  }
  return kind;
}

/** The condition for "in Patient X's compartment" (compartment search). */
export function compartmentCondition(type: string, patientId: string): Document {
  return type === 'Patient' ? { _id: patientId } : membership(patientId);
}

/**
 * The compartment parameter a parameter stands for: itself, or the compartment parameter whose
 * path it narrows to Patient references (Observation `patient` is `subject` where the reference
 * is a Patient), so `patient=X` is answered through the partition key like `subject=Patient/X`.
 */
function compartmentEquivalent(type: string, param: SearchParam, registry: SearchParamRegistry): SearchParam {
  const codes = patientCompartmentParams(type);
  if (codes.includes(param.code) || param.type !== 'reference') return param;
  const path = stripPatientNarrowing(param.expression);
  if (!path) return param;
  for (const code of codes) {
    const candidate = registry.get(type, code);
    if (candidate?.expression && stripPatientNarrowing(candidate.expression) === path) return candidate;
  }
  return param;
}

/** An expression without a trailing restriction to Patient references, if it has one shape we know. */
function stripPatientNarrowing(expression: string | undefined): string | undefined {
  return expression
    ?.replace(/\.where\(reference\.matches\('[^']*Patient[^']*'\)\)$/, '')
    .replace(/\.where\(resolve\(\) is Patient\)$/, '');
}
