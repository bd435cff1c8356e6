// create, update, patch and delete, plain and conditional.
// See: https://hl7.org/fhir/R4/http.html#create, #update, #patch, #delete, #cond-update
import type { FhirResource as Resource } from 'fhir/r4';
import { badRequest, conflict, informational, notFound, OperationOutcomeError, preconditionFailed } from '../outcome.ts';
import type { AccessContext, FhirRequest, FhirResponse, StoredResource } from '../types.ts';
import { applyJsonPatch } from './json-patch.ts';
import { parseVersionTag, readResponse, resourceFacts, versionHeaders, writeResponse } from './http-semantics.ts';
import { criteriaKey } from '../repo/conditional-claims.ts';
import { patientsOf, toStoredResource } from '../repo/resource-repository.ts';
import { assertBodyIdMatches, assertValidId, criteriaParams, resourceFromBody } from './request-body.ts';
import type { FhirServices } from './services.ts';

const fhirBaseOf = (services: FhirServices) => `${services.config.baseUrl}/fhir`;

/** The one resource the criteria select, none, or a 412 when they select several. */
export async function resolveConditional(
  services: FhirServices,
  type: string,
  params: Array<[string, string]>,
  ctx: AccessContext,
): Promise<StoredResource | undefined> {
  const matches = await services.findMatches(type, params, ctx, 2);
  if (matches.length > 1) {
    throw preconditionFailed(`The criteria match more than one ${type}; make them more selective`);
  }
  return matches[0];
}

export async function create(services: FhirServices, req: FhirRequest, ctx: AccessContext, type: string): Promise<FhirResponse> {
  const resource = resourceFromBody(req, type);
  const ifNoneExist = req.headers['if-none-exist'];
  if (!ifNoneExist) return createNew(services, req, ctx, type, resource);
  const criteria = criteriaParams(ifNoneExist);
  const found = (existing: StoredResource) =>
    // See: https://hl7.org/fhir/R4/http.html#ccreate — one match: 200 OK, nothing created.
    writeResponse(req, fhirBaseOf(services), existing, 200, `${type}/${existing.resource.id} already exists`);
  const existing = await resolveConditional(services, type, criteria, ctx);
  if (existing) return found(existing);
  // Under the claim on these criteria no one else creates a match: search again, then create.
  return services.conditionalClaims.hold(criteriaKey(type, criteria), async () => {
    const again = await resolveConditional(services, type, criteria, ctx);
    return again ? found(again) : createNew(services, req, ctx, type, resource);
  });
}

async function createNew(services: FhirServices, req: FhirRequest, ctx: AccessContext, type: string, resource: Resource): Promise<FhirResponse> {
  // The server assigns ids on create; a client's id is ignored (R4 http.html#create).
  const { id: _ignored, ...withoutId } = resource;
  services.validation.assertValid(withoutId as Resource);
  await services.access.assertWrite(ctx, 'create', type, withoutId as Resource, undefined);
  const stored = await services.repo.create(withoutId as Resource, { method: 'POST' });
  return writeResponse(req, fhirBaseOf(services), stored, 201, `Created ${type}/${stored.resource.id}`);
}

export async function update(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  type: string,
  id: string,
): Promise<FhirResponse> {
  assertValidId(id);
  const resource = resourceFromBody(req, type);
  assertBodyIdMatches(resource, id);
  services.validation.assertValid(resource);
  const ifMatch = parseVersionTag(req.headers['if-match']);
  const existing = await services.repo.currentDocument(type, id);
  await services.access.assertWrite(ctx, existing ? 'update' : 'create', type, resource, existing ?? undefined);
  // A caller whose rights depend on what it changes writes exactly the version it was checked against.
  const expectedVid = restricted(services, ctx, type) ? (existing?.vid ?? 0) : undefined;
  const { stored, created } = await services.repo.update(resource as Resource & { id: string }, { ifMatch, expectedVid, method: 'PUT' });
  return writeResponse(req, fhirBaseOf(services), stored, created ? 201 : 200, `${created ? 'Created' : 'Updated'} ${type}/${id}`);
}

/** PUT [type]?criteria — See: https://hl7.org/fhir/R4/http.html#cond-update */
export async function conditionalUpdate(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  type: string,
): Promise<FhirResponse> {
  const resource = resourceFromBody(req, type);
  const criteria = criteriaOf(req);
  const updateMatch = (match: StoredResource) => {
    if (resource.id !== undefined && resource.id !== match.resource.id) {
      throw badRequest(`The body's id "${String(resource.id).slice(0, 70)}" is not the id of the matching ${type} (${match.resource.id})`, ['id']);
    }
    return update(services, { ...req, body: { ...resource, id: match.resource.id } }, ctx, type, match.resource.id);
  };
  const match = await resolveConditional(services, type, criteria, ctx);
  if (match) return updateMatch(match);
  // No match: it creates, under the claim on these criteria (see create), unless one appeared.
  return services.conditionalClaims.hold(criteriaKey(type, criteria), async () => {
    const again = await resolveConditional(services, type, criteria, ctx);
    if (again) return updateMatch(again);
    if (resource.id !== undefined) return update(services, req, ctx, type, resource.id);
    return createNew(services, req, ctx, type, resource);
  });
}

export async function patch(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  type: string,
  id: string,
): Promise<FhirResponse> {
  assertValidId(id);
  if (req.contentType !== 'application/json-patch+json') {
    throw new OperationOutcomeError(415, [
      { severity: 'error', code: 'not-supported', diagnostics: 'PATCH accepts JSON Patch (Content-Type: application/json-patch+json)' },
    ]);
  }
  const ifMatch = parseVersionTag(req.headers['if-match']);
  // Re-apply on a lost race so that a patch is always applied to the version it replaces.
  for (let attempt = 0; attempt < 20; attempt++) {
    const document = await services.repo.currentDocument(type, id);
    if (!document) await services.repo.read(type, id, services.access.restriction(ctx, type, 'update')); // 404 or 410
    const current = toStoredResource(document!);
    if (ifMatch !== undefined && ifMatch !== current.versionId) {
      throw preconditionFailed(`${type}/${id} is at version ${current.versionId}, not ${ifMatch}`);
    }
    const patched = applyJsonPatch(current.resource, req.body);
    if (patched.resourceType !== type || patched.id !== id) {
      throw badRequest('A patch may not change the resource type or id', ['resourceType', 'id']);
    }
    services.validation.assertValid(patched);
    await services.access.assertWrite(ctx, 'update', type, patched, document!);
    try {
      const { stored } = await services.repo.update(patched as Resource & { id: string }, {
        expectedVid: current.versionId,
        method: 'PATCH',
      });
      return writeResponse(req, fhirBaseOf(services), stored, 200, `Patched ${type}/${id}`);
    } catch (err) {
      if (err instanceof OperationOutcomeError && err.status === 409) continue;
      throw err;
    }
  }
  throw conflict(`${type}/${id} is changing too quickly to patch; try again`);
}

/** PATCH [type]?criteria */
export async function conditionalPatch(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  type: string,
): Promise<FhirResponse> {
  return patch(services, req, ctx, type, await conditionalTarget(services, req, ctx, type));
}

export async function remove(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  type: string,
  id: string,
): Promise<FhirResponse> {
  assertValidId(id);
  const ifMatch = parseVersionTag(req.headers['if-match']);
  const existing = await services.repo.currentDocument(type, id);
  if (existing) await services.access.assertWrite(ctx, 'delete', type, undefined, existing);
  // A restricted caller learns nothing of what it cannot see: not whether it was deleted either.
  else if (services.access.restriction(ctx, type, 'delete')) throw notFound(`${type}/${id} is not known`);
  const result = await services.repo.delete(type, id, { ifMatch, method: 'DELETE' });
  const audit = { resources: [{ reference: `${type}/${id}`, patients: existing ? patientsOf(existing) : [] }] };
  if (result.alreadyDeleted) return { status: 204, audit };
  return {
    status: 200,
    body: informational(`Deleted ${type}/${id}`),
    headers: { ETag: `W/"${result.versionId}"` },
    audit,
  };
}

/** DELETE [type]?criteria — one match is deleted; none is a 404; several are a 412. */
export async function conditionalDelete(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  type: string,
): Promise<FhirResponse> {
  return remove(services, req, ctx, type, await conditionalTarget(services, req, ctx, type));
}

/** The id of the one resource a conditional PATCH or DELETE targets; none is a 404. */
async function conditionalTarget(services: FhirServices, req: FhirRequest, ctx: AccessContext, type: string): Promise<string> {
  const match = await resolveConditional(services, type, criteriaOf(req), ctx);
  if (!match) throw notFound(`No ${type} matches the criteria`);
  return match.resource.id;
}

/** The caller's writes of this type are limited by what they reach (patients, proxies, granular scopes). */
function restricted(services: FhirServices, ctx: AccessContext, type: string): boolean {
  const role = ctx.view?.role;
  return role !== 'server' && role !== 'system' && services.access.condition(ctx, type, 'update') !== undefined;
}

function criteriaOf(req: FhirRequest): Array<[string, string]> {
  const params = req.params.filter(([k]) => !['_format', '_pretty', '_summary', '_elements'].includes(k));
  if (params.length === 0) throw badRequest('Conditional operations need search criteria in the URL');
  return params;
}

export async function read(services: FhirServices, req: FhirRequest, ctx: AccessContext, type: string, id: string): Promise<FhirResponse> {
  assertValidId(id);
  const stored = await services.repo.read(type, id, services.access.restriction(ctx, type, 'read'));
  const notModified = conditionalReadStatus(req, stored);
  if (notModified) return { status: 304, headers: versionHeaders(stored), audit: resourceFacts(stored) };
  return readResponse(req, stored);
}

export async function vread(services: FhirServices, req: FhirRequest, ctx: AccessContext, type: string, id: string, vid: string): Promise<FhirResponse> {
  assertValidId(id);
  const condition = services.access.restriction(ctx, type, 'read');
  if (!/^\d{1,15}$/.test(vid)) throw notFound(`${type}/${id} has no version "${vid.slice(0, 20)}"`);
  const stored = await services.repo.vread(type, id, Number(vid), condition);
  return readResponse(req, stored, true);
}

/** If-None-Match / If-Modified-Since on read. See: https://hl7.org/fhir/R4/http.html#cread */
function conditionalReadStatus(req: FhirRequest, stored: StoredResource): boolean {
  const inm = req.headers['if-none-match'];
  if (inm) return parseVersionTag(inm, 'If-None-Match') === stored.versionId;
  const ims = req.headers['if-modified-since'];
  if (ims) {
    const since = Date.parse(ims);
    // HTTP dates have whole seconds; compare at that precision.
    return !Number.isNaN(since) && Math.floor(stored.lastUpdated.getTime() / 1000) * 1000 <= since;
  }
  return false;
}
