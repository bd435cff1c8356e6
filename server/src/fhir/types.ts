// The shapes every FHIR interaction speaks, independent of HTTP.
// An interaction is (FhirRequest, AccessContext) → Promise<FhirResponse>: REST, batch and
// transaction entries, operations and bulk export all call the same functions.
import type { FhirResource as Resource } from 'fhir/r4';
import type { SmartGrant } from '../access/smart-scopes.ts';
import type { AccessView } from '../access/access-view.ts';

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
  /** What the interaction touched, for the audit trail (audit/); never sent to the client. */
  audit?: AuditFacts;
}

/**
 * What an interaction read or changed, as the audit trail records it: references and patients
 * only, never contents. Filled from what the interaction already holds (stored documents carry
 * their patients as the partition key), so auditing costs the request no extra reads.
 */
export interface AuditFacts {
  /** Resources read or written one by one (read, vread, writes, transaction entries). */
  resources?: Array<{ reference: string; patients: readonly string[] }>;
  /** Patients whose records the answer holds resources of (searches, history, $everything). */
  patients?: readonly string[];
}

/**
 * Who is asking (from the access token, checked once per request by auth/bearer-tokens.ts) and
 * what the token grants. Interactions never read tokens or scopes themselves: access/ decides.
 */
export type Principal =
  /** A person signed in to an app: patient, proxy, clinician or admin. */
  | { kind: 'user'; accountId: string; role: 'patient' | 'proxy' | 'staff' | 'admin'; fhirUser?: string }
  /** A backend service (SMART Backend Services, client_credentials). */
  | {
      kind: 'system';
      clientId: string;
      /** The Group the client is limited to, as recorded with its token (null: none; absent: read from its registration). */
      group?: string | null;
    }
  /** The server's own tools in-process (demo loader, recovery, reindex). */
  | { kind: 'server' }
  /** No token: only the open endpoints (metadata) accept it. */
  | { kind: 'anonymous' };

export interface AccessContext {
  requestId: string;
  principal: Principal;
  /** The token's scopes, parsed (absent for anonymous and server callers). */
  grant?: SmartGrant;
  /** Patient in context (launch/patient, EHR launch), as a bare id. */
  patient?: string;
  encounter?: string;
  /** The OAuth client the token was issued to. */
  clientId?: string;
  /** The client's network address (through the trusted proxy when configured), for the audit trail. */
  address?: string;
  /** What this caller may see, worked out once per request by access/ (access-view.ts). */
  view?: AccessView;
}

export type FhirInteraction = (request: FhirRequest, ctx: AccessContext) => Promise<FhirResponse>;

/** A resource as the repository hands it out: the resource plus its version facts. */
export interface StoredResource<T extends Resource = Resource> {
  resource: T & { id: string; meta: { versionId: string; lastUpdated: string } };
  versionId: number;
  lastUpdated: Date;
  /** The patients whose compartments hold it (its partition key), when the stored form said. */
  patients?: readonly string[];
}

/** First value of a query parameter, if present. */
export function param(req: FhirRequest, name: string): string | undefined {
  return req.params.find(([k]) => k === name)?.[1];
}
