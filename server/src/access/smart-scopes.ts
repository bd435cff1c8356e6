// SMART on FHIR scopes, v1 and v2, parsed once into a typed grant.
//   v1: patient/Observation.read, user/*.write, system/*.*
//   v2: patient/Observation.rs, user/Appointment.cruds, and granular query-restricted scopes such as
//       patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory
// plus the launch and identity scopes (launch, launch/patient, launch/encounter, openid, fhirUser,
// profile, offline_access, online_access).
// See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
import { isResourceType } from '../fhir/definitions.ts';

export type ScopeContext = 'patient' | 'user' | 'system';
/** create, read, update, delete, search. */
export type ScopeAction = 'c' | 'r' | 'u' | 'd' | 's';

export interface ResourceScope {
  /** The scope as written. */
  text: string;
  context: ScopeContext;
  /** A resource type, or '*' for all. */
  resourceType: string;
  actions: ReadonlySet<ScopeAction>;
  /** Granular restriction (v2 `?name=value&…`): search parameters every matching resource must meet. */
  query?: Array<[string, string]>;
  version: 1 | 2;
}

export interface SmartGrant {
  resources: ResourceScope[];
  /** launch, launch/patient, openid, fhirUser, offline_access, … as granted. */
  other: Set<string>;
  /** Scopes that are neither SMART resource scopes nor known others (ignored). */
  unknown: string[];
}

const V1_ACTIONS: Record<string, ScopeAction[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const V2_ORDER = 'cruds';

export const OTHER_SCOPES = new Set([
  'openid',
  'fhirUser',
  'profile',
  'email',
  'launch',
  'launch/patient',
  'launch/encounter',
  'offline_access',
  'online_access',
]);

const RESOURCE_SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(?:\?(.+))?$/;

/** One resource scope, or undefined when `text` is not one (or not a valid one). */
export function parseResourceScope(text: string): ResourceScope | undefined {
  const m = RESOURCE_SCOPE.exec(text);
  if (!m) return undefined;
  const [, context, resourceType, permission, queryText] = m;
  if (resourceType !== '*' && !isResourceType(resourceType)) return undefined;
  let actions: ScopeAction[];
  let version: 1 | 2;
  if (V1_ACTIONS[permission]) {
    if (queryText) return undefined; // granular restrictions are a v2 feature
    actions = V1_ACTIONS[permission];
    version = 1;
  } else {
    // v2: letters of "cruds", each at most once, in that order.
    let last = -1;
    for (const ch of permission) {
      const at = V2_ORDER.indexOf(ch);
      if (at <= last) return undefined;
      last = at;
    }
    actions = [...permission] as ScopeAction[];
    version = 2;
  }
  const scope: ResourceScope = { text, context: context as ScopeContext, resourceType, actions: new Set(actions), version };
  if (queryText) {
    const query = [...new URLSearchParams(queryText).entries()];
    if (query.length === 0 || query.some(([k, v]) => !k || !v)) return undefined;
    scope.query = query;
  }
  return scope;
}

/** Parses a space-separated scope string. */
export function parseScopes(scope: string | undefined): SmartGrant {
  const grant: SmartGrant = { resources: [], other: new Set(), unknown: [] };
  for (const text of new Set((scope ?? '').split(' ').filter(Boolean))) {
    const resource = parseResourceScope(text);
    if (resource) grant.resources.push(resource);
    else if (OTHER_SCOPES.has(text)) grant.other.add(text);
    else grant.unknown.push(text);
  }
  return grant;
}

/** The scope string of a grant's recognised scopes (what a token really carries). */
export function scopeString(grant: SmartGrant): string {
  return [...grant.other, ...grant.resources.map((r) => r.text)].join(' ');
}

/** True when the scope is a resource scope or a known launch/identity scope. */
export const isSmartScope = (text: string): boolean => OTHER_SCOPES.has(text) || parseResourceScope(text) !== undefined;
