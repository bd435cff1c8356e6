// Patient/[id]/$everything: the caller's permitted view of one patient's record — the resources
// of the patient's compartment, plus the directory resources they point to (practitioners,
// organizations, locations, medications) — as a searchset Bundle, page by page. It runs through
// the same search code as every search: access conditions in each type's query (a patient or
// proxy gets only what they may see), keyset paging with next links, one page in memory at a time.
// Parameters: _since (changed after), _type (only these types), _count (page size).
// See: https://hl7.org/fhir/R4/patient-operation-everything.html
import type { Parameters } from 'fhir/r4';
import { forbidden } from '../../access/access-policy-errors.ts';
import { DIRECTORY_TYPES } from '../../access/data-classes.ts';
import { badRequest, notFound, notSupported } from '../outcome.ts';
import { parseFhirInstant } from '../router/fhir-dates.ts';
import { assertValidId } from '../router/request-body.ts';
import type { FhirServices } from '../router/services.ts';
import { patientCompartmentTypes } from '../search/compartment.ts';
import { isResourceType } from '../search/registry.ts';
import type { AccessContext, FhirRequest, FhirResponse } from '../types.ts';

export const EVERYTHING_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Patient-everything';

const COMPARTMENT_TYPES = new Set(patientCompartmentTypes());
/** Operation parameters this server answers; start and end (care dates) it does not. */
const KNOWN = new Set(['_since', '_type', '_count', '_cursor', '_format', '_pretty', '_summary', '_elements']);

/** The operation's parameters from the URL, and from a Parameters body (POST). */
function operationParams(req: FhirRequest): Array<[string, string]> {
  const params = [...req.params];
  const body = req.body as Parameters | undefined;
  if (body !== undefined) {
    if (body?.resourceType !== 'Parameters' || (body.parameter !== undefined && !Array.isArray(body.parameter))) {
      throw badRequest('POST $everything takes a Parameters resource (or no body)');
    }
    for (const p of body.parameter ?? []) {
      const value = p.valueInstant ?? p.valueDateTime ?? p.valueString ?? p.valueCode ?? (p.valueInteger !== undefined ? String(p.valueInteger) : undefined);
      if (typeof p.name === 'string' && value !== undefined) params.push([p.name, value]);
    }
  }
  for (const [name] of params) {
    if (name === 'start' || name === 'end') throw notSupported(`$everything: ${name} (care dates) is not supported by this server; use _since or _type`);
    if (!KNOWN.has(name)) throw badRequest(`$everything has no parameter ${name.slice(0, 60)}`, [name.slice(0, 60)]);
  }
  return params;
}

/** Whether the patient is in the caller's view: a Patient they may read, or one their token is for. */
async function assertPatientInView(services: FhirServices, ctx: AccessContext, id: string): Promise<void> {
  const { access, repo } = services;
  if (await repo.find('Patient', id, access.condition(ctx, 'Patient', 'read'))) return;
  // A proxy granted results but not the Patient resource still has this patient's record, and a
  // system client with scopes for some of a record's types (not Patient) has those of everyone's.
  const reached = access.patients(ctx);
  if ((reached === 'all' || reached.includes(id)) && (await repo.find('Patient', id))) return;
  throw notFound(`Patient/${id} is not known`);
}

export async function patientEverything(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  target: { type?: string; id?: string },
): Promise<FhirResponse> {
  const id = target.id!;
  assertValidId(id);
  const search = services.search;
  if (!search) throw notSupported('$everything needs search, which is not available');
  const params = operationParams(req);
  // A token that reaches no part of any patient's record is told so (403, as a search of a type
  // without a scope), before and whatever the patient.
  if (![...COMPARTMENT_TYPES].some((t) => search.searchable(t, ctx))) {
    throw forbidden('The access token allows no part of a patient\'s record');
  }
  await assertPatientInView(services, ctx, id);

  const requested = params.filter(([k]) => k === '_type').flatMap(([, v]) => v.split(',')).map((t) => t.trim()).filter(Boolean);
  for (const t of requested) {
    if (!isResourceType(t)) throw badRequest(`_type: ${t.slice(0, 60)} is not a resource type`, ['_type']);
    if (!COMPARTMENT_TYPES.has(t) && !DIRECTORY_TYPES.has(t)) throw badRequest(`_type: ${t} is not part of a patient's record`, ['_type']);
  }
  const wanted = (t: string) => requested.length === 0 || requested.includes(t);
  // Types named in _type must be searchable by the caller (403 otherwise, as in a search);
  // without _type, the types the token has no scope for are left out.
  const stored = new Set((await services.repo.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const types: string[] = [];
  for (const t of COMPARTMENT_TYPES) {
    // The audit trail is about the record, not part of it: only when asked for by name.
    if (!wanted(t) || (t === 'AuditEvent' && !requested.includes(t))) continue;
    if (requested.length > 0) services.access.restriction(ctx, t, 'search');
    else if (!search.searchable(t, ctx)) continue;
    if (stored.has(t)) types.push(t);
  }
  // The directory resources the page's resources point to, each page its own.
  const include = [...DIRECTORY_TYPES].filter(wanted).map((targetType) => ({ sourceType: '*', param: '*', targetType, iterate: false }));

  const searchParams: Array<[string, string]> = [];
  const since = params.find(([k]) => k === '_since')?.[1];
  if (since !== undefined) searchParams.push(['_lastUpdated', `gt${parseFhirInstant(since, '_since').toISOString()}`]);
  for (const [k, v] of params) if (k === '_count' || k === '_cursor' || k === '_summary' || k === '_elements') searchParams.push([k, v]);
  const linkParams = params.filter(([k]) => k !== '_cursor');

  if (types.length === 0) {
    // Nothing of the record is stored yet, or nothing the token reaches: an empty searchset.
    return { status: 200, body: { resourceType: 'Bundle', type: 'searchset', total: 0, link: [{ relation: 'self', url: `${services.config.baseUrl}/fhir/Patient/${id}/$everything` }] }, audit: { patients: [id] } };
  }
  const res = await search.prepared(req, ctx, {
    types,
    params: searchParams,
    compartment: { type: 'Patient', id },
    include,
    linkParams,
    path: `Patient/${id}/$everything`,
  });
  return { ...res, audit: { patients: [id] } };
}
