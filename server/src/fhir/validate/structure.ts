// Structural validation: is this JSON an R4 resource at all (elements, types, primitive formats,
// cardinality the schema encodes)? Problems here are HTTP 400: "failed basic FHIR validation rules".
// See: https://hl7.org/fhir/R4/http.html#2.21.0.11.3 and https://hl7.org/fhir/R4/json.html
import type { OperationOutcomeIssue } from 'fhir/r4';
import { issue } from '../outcome.ts';
import type { FhirSchema } from './fhir-schema.ts';
import { schemaIssues } from './schema-errors.ts';

export function validateStructure(schema: FhirSchema, resource: unknown): OperationOutcomeIssue[] {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return [issue('error', 'structure', 'A resource must be a JSON object')];
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (type === undefined) {
    return [issue('error', 'required', 'Missing resourceType: a resource must say which type it is', ['resourceType'])];
  }
  if (typeof type !== 'string') {
    return [issue('error', 'structure', 'resourceType must be a string', ['resourceType'])];
  }
  const validate = schema.validatorFor(type);
  if (!validate) {
    return [issue('error', 'not-supported', `Unknown resource type '${type}' (not an R4 resource type)`, ['resourceType'])];
  }
  if (validate(resource)) return [];
  return schemaIssues(resource, type, validate.errors ?? []);
}
