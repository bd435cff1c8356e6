// POST Observation/[id]/$release and DiagnosticReport/[id]/$release: a clinician (or a system
// client) releases a result to its patient now, before its category's automatic delay has passed
// or where there is none (genetics). It records the release time in the result-released
// extension, as a new version; the indexer stores that time beside the result (`rel`), so the
// patient's and proxies' searches find it from now on (access/result-release.ts).
// Who may: whoever access/ lets update the result (staff with user/ scopes on the type, system
// clients); patients and proxies may not (their write rules refuse results). Recorded in the
// audit trail like every operation.
import type { Extension, FhirResource as Resource } from 'fhir/r4';
import { RELEASED_EXTENSION } from '../../access/result-release.ts';
import { conflict, OperationOutcomeError, issue } from '../outcome.ts';
import { readResponse, writeResponse } from '../router/http-semantics.ts';
import { assertValidId } from '../router/request-body.ts';
import type { FhirServices } from '../router/services.ts';
import { toStoredResource } from '../repo/resource-repository.ts';
import type { AccessContext, FhirRequest, FhirResponse } from '../types.ts';

export const RELEASE_DEFINITION = 'https://health-records.dev/fhir/OperationDefinition/result-release';

const RELEASABLE = ['final', 'amended', 'corrected'];

export async function releaseResult(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  target: { type?: string; id?: string },
): Promise<FhirResponse> {
  const type = target.type!;
  const id = target.id!;
  assertValidId(id);
  if (req.body !== undefined && (req.body as { resourceType?: unknown })?.resourceType !== 'Parameters') {
    throw new OperationOutcomeError(400, [issue('error', 'invalid', '$release takes no body (or an empty Parameters resource)')]);
  }
  const fhirBase = `${services.config.baseUrl}/fhir`;
  // Re-read on a lost race, so that the release is added to the version it replaces.
  for (let attempt = 0; attempt < 20; attempt++) {
    const doc = await services.repo.currentDocument(type, id);
    // A result the caller may not see answers as one that does not exist (404), a deleted one 410.
    if (!doc) await services.repo.read(type, id, services.access.restriction(ctx, type, 'update'));
    const current = toStoredResource(doc!);
    const resource = current.resource as Resource & { status?: string; extension?: Extension[] };
    const released = resource.extension?.some((e) => e.url === RELEASED_EXTENSION);
    if (released) {
      // Already released by hand: nothing changes (no new version), but only for who may release it.
      await services.access.assertWrite(ctx, 'update', type, resource, doc!);
      return readResponse(req, current);
    }
    const next = { ...resource, extension: [...(resource.extension ?? []), { url: RELEASED_EXTENSION, valueDateTime: new Date().toISOString() }] } as Resource & { id: string };
    await services.access.assertWrite(ctx, 'update', type, next, doc!);
    if (!RELEASABLE.includes(String(resource.status))) {
      throw new OperationOutcomeError(422, [
        issue('error', 'business-rule', `Only a final, amended or corrected result can be released; ${type}/${id} is ${String(resource.status ?? 'without a status').slice(0, 40)}`, ['status']),
      ]);
    }
    services.validation.assertValid(next);
    try {
      const { stored } = await services.repo.update(next, { expectedVid: current.versionId, method: 'PATCH' });
      return writeResponse(req, fhirBase, stored, 200, `Released ${type}/${id} to the patient`);
    } catch (err) {
      if (err instanceof OperationOutcomeError && err.status === 409) continue;
      throw err;
    }
  }
  throw conflict(`${type}/${id} is changing too quickly to release; try again`);
}
