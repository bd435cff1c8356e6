// Dispatches a FhirRequest to its interaction. No HTTP here: the same function serves REST,
// batch entries and transaction reads. See: https://hl7.org/fhir/R4/http.html
import type { CapabilityStatement } from 'fhir/r4';
import { auditedInteraction } from '../../audit/audited-interaction.ts';
import { badRequest, methodNotAllowed, notFound, notSupported } from '../outcome.ts';
import type { AccessContext, FhirInteraction, FhirRequest, FhirResponse } from '../types.ts';
import { processBatch } from './batch.ts';
import { bundleFromBody } from './bundle-entries.ts';
import { capabilityStatement } from './capability.ts';
import { history } from './history.ts';
import { OPERATIONS } from './operations.ts';
import { assertKnownType } from './request-body.ts';
import { shapeResource, shapingOf } from './resource-shaping.ts';
import type { FhirServices } from './services.ts';
import { processTransaction } from './transaction.ts';
import * as write from './write.ts';

export function createFhirRouter(services: FhirServices): FhirInteraction {
  const startedAt = new Date();
  const fhirBase = `${services.config.baseUrl}/fhir`;
  // Built on first use and kept: it describes the code, which does not change while running.
  let capability: CapabilityStatement | undefined;

  const route: FhirInteraction = async (req, ctx) => {
    // What the caller may see, once per request (batch and transaction entries share it).
    if (ctx.principal.kind !== 'anonymous') await services.access.prepare(ctx);
    const seg = req.path.split('/').filter((s) => s !== '');
    const m = req.method === 'HEAD' ? 'GET' : req.method;

    if (seg.length === 0) {
      if (m === 'POST') {
        const bundle = bundleFromBody(req.body, services.config.maxBundleEntries);
        return bundle.type === 'transaction'
          ? processTransaction(services, bundle, ctx, dispatch, req.headers.prefer)
          : processBatch(bundle, ctx, fhirBase, dispatch, req.headers.prefer);
      }
      if (m === 'GET') return searchOr(services.search?.system, req, ctx, 'system search');
      throw methodNotAllowed(`${req.method} is not allowed on the server base`);
    }

    const [first, second, third, fourth, ...rest] = seg;
    if (first === 'metadata' && seg.length === 1) {
      if (m !== 'GET') throw methodNotAllowed('metadata is read-only');
      const shaping = shapingOf(req);
      // _summary=count is for searches (R4 search.html#summary); metadata is a read.
      if (shaping.summary === 'count') throw badRequest('_summary=count applies to searches, not to metadata', ['_summary']);
      capability ??= capabilityStatement(services, startedAt);
      return { status: 200, body: shapeResource(capability, shaping) };
    }
    if (first === '_history' && seg.length === 1) {
      if (m !== 'GET') throw methodNotAllowed('history is read-only');
      return history(services, req, ctx, {});
    }
    if (first.startsWith('$')) return runOperation(services, req, ctx, first, 'system', {});

    const type = first;
    assertKnownType(type);

    if (seg.length === 1) {
      switch (m) {
        case 'GET':
          return searchOr(services.search?.type, req, ctx, 'search');
        case 'POST':
          return write.create(services, req, ctx, type);
        case 'PUT':
          return write.conditionalUpdate(services, req, ctx, type);
        case 'PATCH':
          return write.conditionalPatch(services, req, ctx, type);
        case 'DELETE':
          return write.conditionalDelete(services, req, ctx, type);
      }
    }
    if (seg.length === 2) {
      if (second === '_history') {
        if (m !== 'GET') throw methodNotAllowed('history is read-only');
        return history(services, req, ctx, { type });
      }
      if (second === '_search') {
        if (m !== 'POST') throw methodNotAllowed('_search takes POST');
        return searchOr(services.search?.type, { ...req, method: 'GET', path: type }, ctx, 'search');
      }
      if (second.startsWith('$')) return runOperation(services, req, ctx, second, 'type', { type });
      const id = second;
      switch (m) {
        case 'GET':
          return write.read(services, req, ctx, type, id);
        case 'PUT':
          return write.update(services, req, ctx, type, id);
        case 'PATCH':
          return write.patch(services, req, ctx, type, id);
        case 'DELETE':
          return write.remove(services, req, ctx, type, id);
        default:
          throw methodNotAllowed(`${req.method} is not allowed on a resource instance`);
      }
    }
    const id = second;
    if (seg.length === 3 && third === '_history') {
      if (m !== 'GET') throw methodNotAllowed('history is read-only');
      return history(services, req, ctx, { type, id });
    }
    if (seg.length === 4 && third === '_history') {
      if (m !== 'GET') throw methodNotAllowed('a version is read-only');
      return write.vread(services, req, ctx, type, id, fourth);
    }
    if (seg.length === 3 && third.startsWith('$')) return runOperation(services, req, ctx, third, 'instance', { type, id });
    if (seg.length === 3 && type === 'Patient' && m === 'GET') {
      assertKnownType(third);
      return searchOr(services.search?.compartment, req, ctx, 'compartment search');
    }
    void rest;
    throw notFound(`No FHIR interaction answers ${req.method} ${req.path.slice(0, 100)}`);
  };
  // Every interaction is recorded in the audit trail, batch entries and transaction reads each
  // on their own (they come back through dispatch).
  const dispatch = auditedInteraction(route, services.audit);
  return dispatch;
}

function searchOr(
  interaction: FhirInteraction | undefined,
  req: FhirRequest,
  ctx: AccessContext,
  what: string,
): Promise<FhirResponse> {
  if (!interaction) throw notSupported(`${what} is not supported by this server yet`);
  return interaction(req, ctx);
}

function runOperation(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  segment: string,
  level: 'system' | 'type' | 'instance',
  target: { type?: string; id?: string },
): Promise<FhirResponse> {
  const name = segment.slice(1);
  const op = OPERATIONS.find((o) => o.name === name);
  if (!op) throw notFound(`The operation $${name.slice(0, 60)} is not known`);
  if (!op.level.includes(level)) throw badRequest(`$${name} cannot be invoked at ${level} level`);
  if (op.types && target.type && !op.types.includes(target.type)) throw notFound(`The operation $${name} is not offered on ${target.type}`);
  const m = req.method === 'HEAD' ? 'GET' : req.method;
  if (!op.methods.includes(m)) throw methodNotAllowed(`$${name} takes ${op.methods.join(' or ')}`);
  return op.run(services, req, ctx, target);
}
