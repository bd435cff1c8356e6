// The shapes every FHIR interaction speaks, independent of HTTP.
// An interaction is (FhirRequest, AccessContext) → Promise<FhirResponse>: REST, batch and
// transaction entries, operations and bulk export all call the same functions.
import type { FhirResource as Resource } from 'fhir/r4';

export type FhirMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FhirRequest {
  method: FhirMethod;
  /** Path below the FHIR base without leading slash, e.g. "Patient/123/_history/2" or "" for the base. */
  path: string;
  /** Query parameters in their order of appearance; a repeated name appears several times. */
  params: Array<[string, string]>;
  /** Request headers that matter to FHIR, lower-case names (if-match, if-none-exist, prefer, ...). */
  headers: Record<string, string | undefined>;
  /** Parsed body: a resource, a JSON Patch array, or undefined. */
  body?: unknown;
  /** Media type of the body without parameters, e.g. "application/fhir+json". */
  contentType?: string;
}

export interface FhirResponse {
  status: number;
  body?: Resource;
  /** Response headers such as ETag, Last-Modified, Location, Content-Location. */
  headers?: Record<string, string>;
}

/**
 * Who is asking, and what they may do. The authorization issue fills in the principal and
 * scopes; until then every request is anonymous and the API is open.
 */
export interface AccessContext {
  requestId: string;
  /** Kind of caller. 'system' is the server's own tools (seed loader, recovery, reindex). */
  principal: { kind: 'anonymous' } | { kind: 'system' };
}

export type FhirInteraction = (request: FhirRequest, ctx: AccessContext) => Promise<FhirResponse>;

/** A resource as the repository hands it out: the resource plus its version facts. */
export interface StoredResource<T extends Resource = Resource> {
  resource: T & { id: string; meta: { versionId: string; lastUpdated: string } };
  versionId: number;
  lastUpdated: Date;
}

/** First value of a query parameter, if present. */
export function param(req: FhirRequest, name: string): string | undefined {
  return req.params.find(([k]) => k === name)?.[1];
}
