// transaction: all entries succeed or none is visible, and readers see none of it before it is
// committed. Everything that can fail without writing (parsing, conditional matches, reference
// resolution, If-Match, patches, validation) is done first; then the journal stages, commits and
// applies the writes (see repo/transaction-journal.ts).
// See: https://hl7.org/fhir/R4/http.html#trules
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, FhirResource as Resource } from 'fhir/r4';
import { badRequest, notFound, preconditionFailed } from '../outcome.ts';
import { criteriaKey, type Release } from '../repo/conditional-claims.ts';
import type { Claim } from '../repo/resource-repository.ts';
import type { CurrentDocument } from '../repo/stored-document.ts';
import { patientsOf, toStoredResource } from '../repo/resource-repository.ts';
import type { StagedWrite } from '../repo/transaction-journal.ts';
import type { AccessContext, AuditFacts, FhirInteraction, FhirRequest, FhirResponse, StoredResource } from '../types.ts';
import { inEntry, parseEntry, responseEntry, type ParsedEntry } from './bundle-entries.ts';
import { etagOf, parseVersionTag, writeResponse } from './http-semantics.ts';
import { applyJsonPatch } from './json-patch.ts';
import { assertKnownType, assertValidId, criteriaParams, resourceFromBody } from './request-body.ts';
import type { FhirServices } from './services.ts';
import { resolveConditional } from './write.ts';
import { rewriteReferences } from './transaction-references.ts';

type Action = 'create' | 'update' | 'delete' | 'existing' | 'read' | 'noop';

interface PlannedEntry extends ParsedEntry {
  action: Action;
  type?: string;
  id?: string;
  resource?: Resource;
  /** Version current before the transaction (0: none). */
  priorVid: number;
  existing?: StoredResource;
  /** The stored document an update or delete changes (for the access check). */
  before?: CurrentDocument;
}

/** FHIR's processing order: DELETE, POST, PUT/PATCH, then GET/HEAD. */
const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export async function processTransaction(
  services: FhirServices,
  bundle: Bundle,
  ctx: AccessContext,
  dispatch: FhirInteraction,
  prefer: string | undefined,
): Promise<FhirResponse> {
  const fhirBase = `${services.config.baseUrl}/fhir`;
  const parsed = (bundle.entry ?? []).map((e, i) => parseEntry(e, i, fhirBase));
  assertDistinctFullUrls(parsed);
  // Conditional creates hold a claim on their criteria until the transaction ends (repo/conditional-claims.ts).
  const held: Release[] = [];
  try {
    const planned: PlannedEntry[] = [];
    for (const p of [...parsed].sort((a, b) => ORDER[a.request.method] - ORDER[b.request.method] || a.index - b.index)) {
      try {
        planned.push(await planEntry(services, p, ctx, held));
      } catch (err) {
        throw inEntry(err, p.index);
      }
    }
    assertDistinctTargets(planned);

    // fullUrl → Type/id for every entry that names a resource the transaction creates or finds.
    const idMap = new Map<string, string>();
    for (const p of planned) {
      if (p.fullUrl && p.type && p.id) idMap.set(p.fullUrl, `${p.type}/${p.id}`);
    }
    const writes = planned.filter((p) => p.action === 'create' || p.action === 'update' || p.action === 'delete');
    for (const p of writes) {
      if (!p.resource) continue;
      try {
        p.resource = await rewriteReferences(p.resource, idMap, fhirBase, (type, params) => services.findMatches(type, params, ctx, 2));
        services.validation.assertValid(p.resource);
      } catch (err) {
        throw inEntry(err, p.index);
      }
    }
    // Every write is checked by access on what it changes and what it would leave (final references).
    for (const p of writes) {
      const action = p.action === 'delete' ? 'delete' : p.before ? 'update' : 'create';
      try {
        await services.access.assertWrite(ctx, action, p.type!, p.resource, p.before);
      } catch (err) {
        throw inEntry(err, p.index);
      }
    }

    const results = await writeAll(services, writes, prefer, fhirBase);
    for (const p of planned) {
      if (p.action === 'noop') {
        results.set(p.index, { status: 204 });
      } else if (p.action === 'existing') {
        results.set(p.index, writeResponse(withPrefer(p.request, prefer), fhirBase, p.existing!, 200, 'Already exists'));
      } else if (p.action === 'read') {
        // Reads run after the writes, so they see the transaction's results.
        try {
          results.set(p.index, await dispatch(p.request, ctx));
        } catch (err) {
          throw inEntry(err, p.index);
        }
      }
    }
    const entries: BundleEntry[] = parsed.map((p) => {
      const plan = planned.find((x) => x.index === p.index)!;
      const fullUrl = plan.type && plan.id && plan.action !== 'read' ? `${fhirBase}/${plan.type}/${plan.id}` : undefined;
      return responseEntry(results.get(p.index)!, fullUrl);
    });
    // The audit trail records the resources written or found; read entries are recorded as the
    // interactions they are (they went through dispatch).
    const audit: AuditFacts = { resources: [] };
    for (const p of planned) {
      if (p.action !== 'read') audit.resources!.push(...(results.get(p.index)?.audit?.resources ?? []));
    }
    return { status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry: entries }, audit };
  } finally {
    await Promise.all(held.map((release) => release().catch(() => undefined)));
  }
}

/** Stages, commits and applies the writes; a failure before the commit leaves nothing behind. */
async function writeAll(services: FhirServices, writes: PlannedEntry[], prefer: string | undefined, fhirBase: string): Promise<Map<number, FhirResponse>> {
  const results = new Map<number, FhirResponse>();
  if (writes.length === 0) return results;
  const staged = new Map<StagedWrite, PlannedEntry>();
  for (const p of writes) {
    const method = p.request.method === 'PATCH' ? 'PATCH' : p.request.method === 'DELETE' ? 'DELETE' : p.request.method === 'POST' ? 'POST' : 'PUT';
    const kind = p.action as StagedWrite['kind'];
    staged.set({ kind, type: p.type!, id: p.id!, priorVid: p.priorVid, resource: p.resource, method }, p);
  }
  const list = [...staged.keys()];
  const tx = await services.journal.begin(list.map(({ type, id, priorVid }) => ({ type, id, priorVid })));
  let claims: Claim[];
  try {
    claims = await services.journal.stage(tx, list, (w, err) => inEntry(err, staged.get(w)!.index));
  } catch (err) {
    await services.journal.rollback(tx);
    throw err;
  }
  await services.journal.commit(tx, claims);
  list.forEach((w, i) => {
    const p = staged.get(w)!;
    const claim = claims[i];
    if (!claim.doc) {
      const audit = { resources: [{ reference: `${p.type}/${p.id}`, patients: p.before ? patientsOf(p.before) : [] }] };
      results.set(p.index, { status: 204, headers: { ETag: etagOf(claim.vid) }, audit });
      return;
    }
    const status = claim.created ? 201 : 200;
    const message = `${claim.created ? 'Created' : 'Updated'} ${p.type}/${p.id}`;
    results.set(p.index, writeResponse(withPrefer(p.request, prefer), fhirBase, toStoredResource(claim.doc), status, message));
  });
  return results;
}

function withPrefer(req: FhirRequest, prefer: string | undefined): FhirRequest {
  return { ...req, headers: { ...req.headers, prefer } };
}

async function planEntry(services: FhirServices, p: ParsedEntry, ctx: AccessContext, held: Release[]): Promise<PlannedEntry> {
  const { request } = p;
  const segments = splitPath(request.path);
  const base: PlannedEntry = { ...p, action: 'read', priorVid: 0 };
  if (request.method === 'GET' || request.method === 'HEAD') {
    if (segments.length === 0 && request.method === 'GET' && request.params.length === 0) {
      throw badRequest('A transaction entry cannot read the server base');
    }
    return base;
  }
  const [type, id, ...rest] = segments;
  if (!type || rest.length > 0) throw badRequest(`"${request.path.slice(0, 80)}" is not a resource URL for ${request.method}`);
  assertKnownType(type);
  if (id !== undefined) assertValidId(id);
  const conditional = id === undefined && request.params.length > 0;
  const repo = services.repo;

  if (request.method === 'POST') {
    if (id !== undefined) throw badRequest('POST entries create resources: the URL names only the type');
    const resource = resourceFromBody(request, type);
    const ifNoneExist = request.headers['if-none-exist'];
    if (ifNoneExist) {
      const criteria = criteriaParams(ifNoneExist);
      let existing = await resolveConditional(services, type, criteria, ctx);
      if (!existing) {
        // Held until the transaction ends, so a concurrent one with the same criteria finds ours.
        held.push(await services.conditionalClaims.acquire(criteriaKey(type, criteria)));
        existing = await resolveConditional(services, type, criteria, ctx);
      }
      if (existing) return { ...base, action: 'existing', type, id: existing.resource.id, existing };
    }
    const { id: _ignored, ...body } = resource;
    return { ...base, action: 'create', type, id: randomUUID(), resource: body as Resource };
  }

  let targetId: string | undefined = id;
  if (conditional) {
    const match = await resolveConditional(services, type, request.params, ctx);
    targetId = match?.resource.id;
  }
  const ifMatch = parseVersionTag(request.headers['if-match']);

  if (request.method === 'DELETE') {
    if (!targetId) throw notFound(`No ${type} matches the criteria`);
    const before = await repo.currentDocument(type, targetId);
    const current = before && toStoredResource(before);
    if (!current) {
      // A restricted caller learns nothing of what it cannot see, not whether it was deleted either.
      if (services.access.restriction(ctx, type, 'delete')) throw notFound(`${type}/${targetId} is not known`);
      if (!(await repo.latestVersion(type, targetId))) throw notFound(`${type}/${targetId} is not known`);
      // Already deleted: deleting again changes nothing (R4 http.html#delete).
      return { ...base, action: 'noop', type, id: targetId };
    }
    if (ifMatch !== undefined && ifMatch !== current.versionId) {
      throw preconditionFailed(`${type}/${targetId} is at version ${current.versionId}, not ${ifMatch}`);
    }
    return { ...base, action: 'delete', type, id: targetId, priorVid: current.versionId, before };
  }

  if (request.method === 'PATCH') {
    if (!targetId) throw notFound(`No ${type} matches the criteria`);
    const before = await repo.currentDocument(type, targetId);
    if (!before) await repo.read(type, targetId, services.access.restriction(ctx, type, 'update')); // 404 or 410
    const current = toStoredResource(before!);
    if (ifMatch !== undefined && ifMatch !== current.versionId) {
      throw preconditionFailed(`${type}/${targetId} is at version ${current.versionId}, not ${ifMatch}`);
    }
    const resource = applyJsonPatch(current.resource, request.body);
    if (resource.resourceType !== type || resource.id !== targetId) throw badRequest('A patch may not change the resource type or id');
    return { ...base, action: 'update', type, id: targetId, resource, priorVid: current.versionId, before: before! };
  }

  // PUT
  const resource = resourceFromBody(request, type);
  if (id !== undefined && resource.id !== id) {
    throw badRequest(`The body's id "${String(resource.id ?? '').slice(0, 70)}" does not match the URL's id "${id}"`, ['id']);
  }
  if (conditional && targetId && resource.id !== undefined && resource.id !== targetId) {
    throw badRequest(`The body's id is not the id of the matching ${type}`, ['id']);
  }
  targetId = targetId ?? resource.id ?? randomUUID();
  assertValidId(targetId);
  const before = (await repo.currentDocument(type, targetId)) ?? undefined;
  if (ifMatch !== undefined && ifMatch !== (before?.vid ?? -1)) {
    throw preconditionFailed(`${type}/${targetId} is not at version ${ifMatch}`);
  }
  return { ...base, action: 'update', type, id: targetId, resource: { ...resource, id: targetId }, priorVid: before?.vid ?? 0, before };
}

/**
 * fullUrl identifies an entry's resource within the Bundle: two entries with one fullUrl would
 * leave references to it ambiguous (bdl-7). See: https://hl7.org/fhir/R4/bundle.html#bundle-unique
 */
function assertDistinctFullUrls(parsed: ParsedEntry[]): void {
  const seen = new Map<string, number>();
  for (const p of parsed) {
    if (!p.fullUrl) continue;
    const other = seen.get(p.fullUrl);
    if (other !== undefined) {
      throw badRequest(`Entries ${other} and ${p.index} have the same fullUrl ${p.fullUrl.slice(0, 200)}; fullUrl must be unique in a transaction`, [
        `Bundle.entry[${p.index}].fullUrl`,
      ]);
    }
    seen.set(p.fullUrl, p.index);
  }
}

/** A transaction may touch each resource once (R4 http.html#trules). */
function assertDistinctTargets(planned: PlannedEntry[]): void {
  const seen = new Map<string, number>();
  for (const p of planned) {
    if (p.action === 'read' || p.action === 'noop' || !p.type || !p.id) continue;
    const key = `${p.type}/${p.id}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw badRequest(`Entries ${other} and ${p.index} both change ${key}; a transaction may change a resource only once`);
    }
    seen.set(key, p.index);
  }
}
