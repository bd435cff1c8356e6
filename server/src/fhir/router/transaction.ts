// transaction: all entries succeed or none is visible.
// Everything that can fail without writing (parsing, conditional matches, reference resolution,
// If-Match, patches, validation) is done first; then the writes run under a journal that rolls
// them back if one fails or the server dies (see repo/transaction-journal.ts).
// See: https://hl7.org/fhir/R4/http.html#trules
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, FhirResource as Resource } from 'fhir/r4';
import { badRequest, notFound, preconditionFailed } from '../outcome.ts';
import type { AccessContext, FhirInteraction, FhirRequest, FhirResponse, StoredResource } from '../types.ts';
import { inEntry, parseEntry, responseEntry, type ParsedEntry } from './bundle-entries.ts';
import { parseVersionTag, writeResponse } from './http-semantics.ts';
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
}

const WRITE_CONCURRENCY = 8;

/**
 * Runs task over items with at most `limit` in flight. On the first failure no new task starts;
 * the ones in flight finish (so a rollback sees every write that happened), then it rethrows.
 */
async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
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
  const planned: PlannedEntry[] = [];
  for (const p of [...parsed].sort((a, b) => ORDER[a.request.method] - ORDER[b.request.method] || a.index - b.index)) {
    try {
      planned.push(await planEntry(services, p, ctx));
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
      p.resource = await rewriteReferences(p.resource, idMap, fhirBase, (type, params) =>
        services.findMatches(type, params, ctx, 2),
      );
      services.validation.assertValid(p.resource);
    } catch (err) {
      throw inEntry(err, p.index);
    }
  }

  const tx = await services.journal.begin(writes.map((p) => ({ type: p.type!, id: p.id!, priorVid: p.priorVid })));
  const results = new Map<number, FhirResponse>();
  try {
    // Each phase (DELETE, POST, PUT/PATCH) completes before the next starts; within a phase the
    // entries touch distinct resources, so they are written a few at a time.
    for (const phase of [0, 1, 2]) {
      const batch = writes.filter((p) => ORDER[p.request.method] === phase);
      await inParallel(batch, WRITE_CONCURRENCY, async (p) => {
        try {
          results.set(p.index, await applyWrite(services, p, tx.id, prefer, fhirBase));
        } catch (err) {
          throw inEntry(err, p.index);
        }
      });
    }
  } catch (err) {
    await services.journal.rollback(tx);
    throw err;
  }
  await services.journal.commit(tx);

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
  return { status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry: entries } };
}

function withPrefer(req: FhirRequest, prefer: string | undefined): FhirRequest {
  return { ...req, headers: { ...req.headers, prefer } };
}

async function planEntry(services: FhirServices, p: ParsedEntry, ctx: AccessContext): Promise<PlannedEntry> {
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
      const existing = await resolveConditional(services, type, criteriaParams(ifNoneExist), ctx);
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
    const current = await repo.find(type, targetId);
    if (!current) {
      if (!(await repo.latestVersion(type, targetId))) throw notFound(`${type}/${targetId} is not known`);
      // Already deleted: deleting again changes nothing (R4 http.html#delete).
      return { ...base, action: 'noop', type, id: targetId };
    }
    if (ifMatch !== undefined && ifMatch !== current.versionId) {
      throw preconditionFailed(`${type}/${targetId} is at version ${current.versionId}, not ${ifMatch}`);
    }
    return { ...base, action: 'delete', type, id: targetId, priorVid: current.versionId };
  }

  if (request.method === 'PATCH') {
    if (!targetId) throw notFound(`No ${type} matches the criteria`);
    const current = await repo.read(type, targetId);
    if (ifMatch !== undefined && ifMatch !== current.versionId) {
      throw preconditionFailed(`${type}/${targetId} is at version ${current.versionId}, not ${ifMatch}`);
    }
    const resource = applyJsonPatch(current.resource, request.body);
    if (resource.resourceType !== type || resource.id !== targetId) throw badRequest('A patch may not change the resource type or id');
    return { ...base, action: 'update', type, id: targetId, resource, priorVid: current.versionId };
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
  const current = await repo.find(type, targetId);
  if (ifMatch !== undefined && ifMatch !== (current?.versionId ?? -1)) {
    throw preconditionFailed(`${type}/${targetId} is not at version ${ifMatch}`);
  }
  return { ...base, action: 'update', type, id: targetId, resource: { ...resource, id: targetId }, priorVid: current?.versionId ?? 0 };
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

async function applyWrite(
  services: FhirServices,
  p: PlannedEntry,
  tx: string,
  prefer: string | undefined,
  fhirBase: string,
): Promise<FhirResponse> {
  const repo = services.repo;
  const req = withPrefer(p.request, prefer);
  if (p.action === 'delete') {
    const result = await repo.delete(p.type!, p.id!, { tx, expectedVid: p.priorVid, method: 'DELETE' });
    return { status: 204, headers: result.versionId ? { ETag: `W/"${result.versionId}"` } : {} };
  }
  if (p.action === 'create') {
    const stored = await repo.create(p.resource!, { id: p.id, tx, method: 'POST' });
    return writeResponse(req, fhirBase, stored, 201, `Created ${p.type}/${p.id}`);
  }
  const { stored, created } = await repo.update(p.resource as Resource & { id: string }, {
    tx,
    expectedVid: p.priorVid,
    method: p.request.method === 'PATCH' ? 'PATCH' : 'PUT',
  });
  return writeResponse(req, fhirBase, stored, created ? 201 : 200, `${created ? 'Created' : 'Updated'} ${p.type}/${p.id}`);
}
