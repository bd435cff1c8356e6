// FHIR's use of HTTP headers, independent of Express: ETag, If-Match, Prefer, Location.
// See: https://hl7.org/fhir/R4/http.html#versioning and https://hl7.org/fhir/R4/http.html#ops
import type { FhirResource as Resource } from 'fhir/r4';
import { badRequest, informational } from '../outcome.ts';
import type { AuditFacts, FhirRequest, FhirResponse, StoredResource } from '../types.ts';
import { shapeResource, shapingOf } from './resource-shaping.ts';

export const etagOf = (versionId: number) => `W/"${versionId}"`;

export function versionHeaders(stored: StoredResource): Record<string, string> {
  return { ETag: etagOf(stored.versionId), 'Last-Modified': stored.lastUpdated.toUTCString() };
}

/** Parses an ETag-style version (W/"3", "3" or 3) from If-Match; malformed is a 400. */
export function parseVersionTag(value: string | undefined, header = 'If-Match'): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(value);
  if (!m) throw badRequest(`${header} must be a version ETag like W/"3", got "${value.slice(0, 40)}"`);
  return Number(m[1]);
}

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

export function preferReturn(req: FhirRequest): PreferReturn {
  const prefer = req.headers.prefer ?? '';
  const m = /(?:^|[;,\s])return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(prefer);
  if (!m) return 'representation';
  const v = m[1].toLowerCase();
  return v === 'minimal' ? 'minimal' : v === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

export function preferStrictHandling(req: FhirRequest): boolean {
  return /(?:^|[;,\s])handling\s*=\s*"?strict"?/i.test(req.headers.prefer ?? '');
}

export function versionedUrl(fhirBase: string, stored: StoredResource): string {
  return `${fhirBase}/${stored.resource.resourceType}/${stored.resource.id}/_history/${stored.versionId}`;
}

/** The audit facts of one resource read or written (its reference and its patients). */
export function resourceFacts(stored: StoredResource, versioned = false): AuditFacts {
  const { resourceType, id } = stored.resource;
  const reference = versioned ? `${resourceType}/${id}/_history/${stored.versionId}` : `${resourceType}/${id}`;
  return { resources: [{ reference, patients: stored.patients ?? [] }] };
}

/** The response to a read: the resource with version headers, shaped by _summary/_elements. */
export function readResponse(req: FhirRequest, stored: StoredResource, versioned = false): FhirResponse {
  return { status: 200, body: shapeResource(stored.resource, shapingOf(req)), headers: versionHeaders(stored), audit: resourceFacts(stored, versioned) };
}

/** The response to a successful create or update, honouring Prefer: return=… */
export function writeResponse(
  req: FhirRequest,
  fhirBase: string,
  stored: StoredResource,
  status: 200 | 201,
  message: string,
): FhirResponse {
  const headers = versionHeaders(stored);
  headers.Location = versionedUrl(fhirBase, stored);
  const ret = preferReturn(req);
  let body: Resource | undefined = stored.resource;
  if (ret === 'minimal') body = undefined;
  else if (ret === 'OperationOutcome') body = informational(message);
  return { status, body, headers, audit: resourceFacts(stored) };
}
