// Structural validation: is this JSON an R4 resource at all (elements, types, primitive formats,
// cardinality the schema encodes)? Problems here are HTTP 400: "failed basic FHIR validation rules".
// See: https://hl7.org/fhir/R4/http.html#2.21.0.11.3 and https://hl7.org/fhir/R4/json.html
import type { OperationOutcomeIssue } from 'fhir/r4';
import { pathBeyondDepth } from '../json/nesting-depth.ts';
import { issue } from '../outcome.ts';
import type { FhirSchema } from './fhir-schema.ts';
import { schemaIssues } from './schema-errors.ts';

export function validateStructure(schema: FhirSchema, resource: unknown, maxDepth: number): OperationOutcomeIssue[] {
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
  // The schema validator recurses once per level: too deep a resource (e.g. built by many JSON
  // Patches, each within the body limit) would overflow the stack instead of being refused.
  const tooDeep = pathBeyondDepth(resource, maxDepth);
  if (tooDeep !== undefined) {
    const where = tooDeep ? `${type}.${tooDeep}` : type;
    return [issue('error', 'too-costly', `The resource nests objects and arrays more than ${maxDepth} levels deep at ${where}; this server accepts at most ${maxDepth}`, [where])];
  }
  if (validate(resource)) return [];
  return schemaIssues(resource, type, validate.errors ?? []);
}
