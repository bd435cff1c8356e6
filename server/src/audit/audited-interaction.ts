// The one place FHIR interactions are audited: the router's dispatch goes through here, so REST
// requests, batch entries and the read entries of transactions are each recorded, with the same
// code. What is recorded: who (the person and the app, or the backend service), from where, which
// interaction on which type, the resources and patients the answer touched (the interactions
// report them in FhirResponse.audit), the outcome and when; never contents or query values.
// The work on the request path is building one small record and pushing it on a queue.
// A request that may read the trail itself first waits until everything recorded before it can be
// read (AuditRecorder.settle): the trail is written behind the requests, but read consistently.
import { isDatabaseUnavailable } from '../db/database-unavailable.ts';
import { OperationOutcomeError, issue } from '../fhir/outcome.ts';
import { AuditSettleTimeout } from './audit-materializer.ts';
import type { AccessContext, AuditFacts, FhirInteraction, FhirRequest } from '../fhir/types.ts';
import type { AuditActor, AuditRecorder, RestAuditRecord, RestInteraction } from './audit-record.ts';

/** Parameter names kept in the recorded request, and their length. */
const MAX_NAMES = 30;
const MAX_NAME_LENGTH = 60;
const MAX_PATH_LENGTH = 200;

interface Classified {
  interaction: RestInteraction;
  operation?: string;
  /** Type/id of an instance-level request (recorded also when it fails). */
  target?: string;
}

/** Which FHIR interaction a request is, from its method and path (as the router dispatches it). */
export function classify(req: FhirRequest): Classified {
  const seg = req.path.split('/').filter((s) => s !== '');
  const m = req.method === 'HEAD' ? 'GET' : req.method;
  const [type, second, third, fourth] = seg;
  if (seg.length === 0) {
    if (m !== 'POST') return { interaction: 'search-system' };
    return { interaction: (req.body as { type?: unknown } | undefined)?.type === 'transaction' ? 'transaction' : 'batch' };
  }
  if (type === 'metadata') return { interaction: 'capabilities' };
  if (type === '_history') return { interaction: 'history-system' };
  if (type.startsWith('$')) return { interaction: 'operation', operation: type.slice(1) };
  if (seg.length === 1) {
    const byMethod: Record<string, RestInteraction> = { GET: 'search-type', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    return { interaction: byMethod[m] ?? 'search-type' };
  }
  if (seg.length === 2) {
    if (second === '_history') return { interaction: 'history-type' };
    if (second === '_search') return { interaction: 'search-type' };
    if (second.startsWith('$')) return { interaction: 'operation', operation: second.slice(1) };
    const byMethod: Record<string, RestInteraction> = { GET: 'read', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    return { interaction: byMethod[m] ?? 'read', target: `${type}/${second}` };
  }
  if (third === '_history') return fourth === undefined ? { interaction: 'history-instance', target: `${type}/${second}` } : { interaction: 'vread', target: `${type}/${second}/_history/${fourth}` };
  if (third.startsWith('$')) return { interaction: 'operation', operation: third.slice(1), target: `${type}/${second}` };
  return { interaction: 'search-type' }; // Patient/{id}/{type}: a compartment search
}

/** The request without values: "GET Observation?category&patient&_sort". */
export function describeRequest(req: FhirRequest): string {
  const names: string[] = [];
  for (const [name] of req.params) {
    if (names.length >= MAX_NAMES) break;
    const n = name.slice(0, MAX_NAME_LENGTH);
    if (!names.includes(n)) names.push(n);
  }
  const path = req.path.slice(0, MAX_PATH_LENGTH);
  return `${req.method} ${path}${names.length > 0 ? `?${names.join('&')}` : ''}`;
}

/** Who is asking, as the trail records them. */
export function actorOf(ctx: AccessContext): AuditActor {
  const p = ctx.principal;
  const actor: AuditActor = {};
  if (ctx.address) actor.address = ctx.address;
  if (p.kind === 'user') {
    // A proxy acts as the RelatedPerson of the patient in context (access/ worked it out).
    const fhirUser = ctx.view?.proxy ? `RelatedPerson/${ctx.view.proxy.relatedPerson}` : p.fhirUser;
    if (fhirUser) actor.fhirUser = fhirUser;
    actor.accountId = p.accountId;
    if (ctx.clientId) actor.clientId = ctx.clientId;
  } else if (p.kind === 'system') {
    actor.system = true;
    actor.clientId = p.clientId;
  } else {
    actor.system = true;
  }
  return actor;
}

const TRAIL = 'AuditEvent';

/**
 * Whether a request may read AuditEvents: the type in its path (read, search, history, a
 * compartment search), named in a parameter (`_type`, `_include`, `_revinclude`, `_has`), in an
 * operation's Parameters (`Patient/$everything` by POST), or a system search over every type. It
 * errs on the side of settling: a request that turns out not to touch the trail only waited.
 */
export function readsTrail(req: FhirRequest, interaction: RestInteraction): boolean {
  if (req.path.split('/').includes(TRAIL)) return true;
  if (req.params.some(([k, v]) => k.includes(TRAIL) || v.includes(TRAIL))) return true;
  if (interaction === 'search-system' && !req.params.some(([k]) => k === '_type')) return true;
  if (interaction === 'operation' && req.body !== undefined && JSON.stringify(req.body).includes(TRAIL)) return true;
  return false;
}

function statusOf(err: unknown): number {
  if (err instanceof OperationOutcomeError) return err.status;
  return isDatabaseUnavailable(err) ? 503 : 500;
}

/** 503 while the trail cannot take records: no access without its record. */
export function auditUnavailable(why = 'The audit trail cannot be written at the moment, so no data is served; try again shortly'): OperationOutcomeError {
  const err = new OperationOutcomeError(503, [issue('error', 'transient', why)]);
  err.headers = { 'Retry-After': '5' };
  return err;
}

/** Waits until the trail holds everything recorded so far (503 when that cannot be done in time). */
async function settleTrail(audit: AuditRecorder): Promise<void> {
  try {
    await audit.settle();
  } catch (err) {
    if (err instanceof AuditSettleTimeout) throw auditUnavailable('The audit trail is still being written; try again shortly');
    throw err;
  }
}

export function auditedInteraction(route: FhirInteraction, audit: AuditRecorder): FhirInteraction {
  return async (req, ctx) => {
    // The open endpoints (the CapabilityStatement) show no one's data.
    if (ctx.principal.kind === 'anonymous') return route(req, ctx);
    if (!audit.accepting()) throw auditUnavailable();
    const what = classify(req);
    const recordOf = (status: number, facts: AuditFacts | undefined): RestAuditRecord => ({
      kind: 'rest',
      at: new Date(),
      actor: actorOf(ctx),
      requestId: ctx.requestId,
      interaction: what.interaction,
      ...(what.operation ? { operation: what.operation.slice(0, MAX_NAME_LENGTH) } : {}),
      request: describeRequest(req),
      // A failed request names what it asked for; an answer says what it touched.
      resources: facts ? (facts.resources ?? []) : what.target ? [{ reference: what.target.slice(0, MAX_PATH_LENGTH), patients: [] }] : [],
      patients: facts?.patients ?? [],
      status,
    });
    let res;
    try {
      if (readsTrail(req, what.interaction)) await settleTrail(audit);
      res = await route(req, ctx);
    } catch (err) {
      audit.record(recordOf(statusOf(err), undefined));
      throw err;
    }
    // A batch's entries were recorded one by one as they ran.
    if (what.interaction !== 'batch') audit.record(recordOf(res.status, res.audit));
    return res;
  };
}
