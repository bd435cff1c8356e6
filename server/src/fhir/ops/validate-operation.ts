// $validate: checks a resource without storing it. The operation answers 200 with an
// OperationOutcome listing the issues (an empty list means valid).
// See: https://hl7.org/fhir/R4/resource-operation-validate.html
import type { OperationOutcomeIssue, Parameters, FhirResource as Resource } from 'fhir/r4';
import { badRequest, issue, outcome } from '../outcome.ts';
import type { FhirServices } from '../router/services.ts';
import { param, type AccessContext, type FhirRequest, type FhirResponse } from '../types.ts';
import { resourceFromBody } from '../router/request-body.ts';

type Mode = 'create' | 'update' | 'delete' | undefined;

function unwrap(req: FhirRequest, type: string): { resource?: Resource; mode: Mode; profiles: string[] } {
  const body = req.body as Resource | undefined;
  let mode = param(req, 'mode') as Mode;
  const profiles = req.params.filter(([k]) => k === 'profile').map(([, v]) => v);
  let resource: Resource | undefined;
  if (body && typeof body === 'object' && (body as Resource).resourceType === 'Parameters' && type !== 'Parameters') {
    const parameters = (body as Parameters).parameter ?? [];
    if (!Array.isArray(parameters) || parameters.some((p) => typeof p !== 'object' || p === null)) {
      throw badRequest('Parameters.parameter must be an array of parameters', ['Parameters.parameter']);
    }
    resource = parameters.find((p) => p.name === 'resource')?.resource;
    mode = (parameters.find((p) => p.name === 'mode')?.valueCode as Mode) ?? mode;
    for (const p of parameters) if (p.name === 'profile' && p.valueUri) profiles.push(p.valueUri);
  } else if (body !== undefined) {
    resource = body;
  }
  if (mode !== undefined && !['create', 'update', 'delete'].includes(mode)) {
    throw badRequest(`mode must be create, update or delete, got "${String(mode).slice(0, 20)}"`, ['mode']);
  }
  return { resource, mode, profiles };
}

export async function validateOperation(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  target: { type?: string; id?: string },
): Promise<FhirResponse> {
  const type = target.type!;
  const { resource, mode, profiles } = unwrap(req, type);
  const issues: OperationOutcomeIssue[] = [];
  if (mode === 'delete') {
    if (!target.id) throw badRequest('mode=delete needs an instance: POST [type]/[id]/$validate');
    await services.repo.read(type, target.id, services.access.restriction(ctx, type, 'read'));
  } else {
    const checked = resourceFromBody({ ...req, body: resource }, type);
    if (target.id && checked.id !== undefined && checked.id !== target.id) {
      issues.push(issue('error', 'invalid', `The resource's id "${checked.id}" is not "${target.id}"`, ['id']));
    }
    if (mode === 'update' && checked.id === undefined) {
      issues.push(issue('error', 'required', 'mode=update needs a resource with an id', ['id']));
    }
    issues.push(...services.validation.validate(checked, profiles.length ? profiles : undefined));
  }
  if (issues.length === 0) issues.push(issue('information', 'informational', 'No issues found'));
  return { status: 200, body: outcome(issues) };
}
