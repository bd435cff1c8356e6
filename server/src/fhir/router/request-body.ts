// Checks on the resource a client sends, before any validation against schema or profiles.
// See: https://hl7.org/fhir/R4/http.html#create and https://hl7.org/fhir/R4/http.html#update
import type { FhirResource as Resource } from 'fhir/r4';
import { badRequest, notFound } from '../outcome.ts';
import { isResourceType } from '../definitions.ts';
import { decodeQueryParams } from '../request-url.ts';
import type { FhirRequest } from '../types.ts';

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function assertValidId(id: string): void {
  if (!ID_PATTERN.test(id)) throw badRequest(`"${id.slice(0, 70)}" is not a valid resource id ([A-Za-z0-9-.], 1 to 64 characters)`);
}

export function assertKnownType(type: string): void {
  if (!isResourceType(type)) throw notFound(`"${type.slice(0, 70)}" is not a FHIR R4 resource type`);
}

/** The request body as a resource of the type in the URL, or a 400 that says what is wrong. */
export function resourceFromBody(req: FhirRequest, type: string): Resource {
  const body = req.body;
  if (body === undefined) throw badRequest(`A ${type} resource is required in the request body`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object holding a FHIR resource');
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string') throw badRequest('The resource has no resourceType', ['resourceType']);
  if (resourceType !== type) {
    throw badRequest(`The body holds a ${resourceType.slice(0, 70)} but the URL names ${type}`, ['resourceType']);
  }
  // Everything downstream compares, slices and stores the id as a string (R4 json.html: id is a
  // JSON string); a number or object here used to surface as a 500 or as `"12345" does not match "12345"`.
  const id = (body as { id?: unknown }).id;
  if (id !== undefined && typeof id !== 'string') {
    throw badRequest(`The resource's id must be a JSON string (e.g. "id": "123"), not ${jsonTypeOf(id)}`, [`${type}.id`]);
  }
  return body as Resource;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** For update: the body's id must be present and equal the URL's. */
export function assertBodyIdMatches(resource: Resource, id: string): void {
  if (resource.id === undefined) throw badRequest(`The resource must carry id "${id}" to update ${resource.resourceType}/${id}`, ['id']);
  if (resource.id !== id) {
    throw badRequest(`The body's id "${String(resource.id).slice(0, 70)}" does not match the URL's id "${id}"`, ['id']);
  }
}

/** Search criteria from a conditional header or URL (e.g. If-None-Exist: identifier=a|b). */
export function criteriaParams(query: string): Array<[string, string]> {
  const q = query.startsWith('?') ? query.slice(1) : query;
  const params = decodeQueryParams(q, 'The conditional criteria');
  if (params.length === 0) throw badRequest('Conditional criteria must name at least one search parameter');
  return params;
}
