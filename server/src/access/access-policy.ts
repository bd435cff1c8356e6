// The one decision point: who may do what to which resource. Every path asks it (search with its
// includes, chains and _has, read, vread, history, writes, batch and transaction entries,
// operations) and gets its answer as a database condition to AND into the query, so paging,
// totals and links stay right and nothing is filtered afterwards.
// - No scope for the action on the type: 403. A resource the caller may not see: it is not there
//   (404, empty searches), exactly like a resource that does not exist.
// See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
import type { Document } from 'mongodb';
import siftModule from 'sift';
import type { FhirResource as Resource } from 'fhir/r4';
import { notFound } from '../fhir/outcome.ts';
import type { ResourceIndexFields } from '../fhir/repo/stored-document.ts';
import { hasPatientCompartment } from '../fhir/search/compartment.ts';
import { compartmentCondition } from '../fhir/search/compile/partition.ts';
import type { AccessContext } from '../fhir/types.ts';
import { buildView, type AccessData, type AccessView } from './access-view.ts';
import { DIRECTORY_TYPES, RESULT_TYPES, type SensitiveDefinition } from './data-classes.ts';
import { releasedCondition } from './result-release.ts';
import { matchingScopes, type AccessAction } from './scope-match.ts';
import { forbidden, NOTHING } from './access-policy-errors.ts';
import { assertPatientWrite, type WriteAction, type WriteRuleData } from './write-rules.ts';

export { forbidden, NOTHING };

/** MongoDB's query semantics in memory (sift): the same condition the database would apply. */
const matches = (condition: Document, doc: object): boolean =>
  (siftModule as unknown as (query: Document) => (item: object) => boolean)(condition)(doc);

export interface AccessPolicy {
  /** Works out the caller's view (once per request; kept on the context). */
  prepare(ctx: AccessContext): Promise<AccessView>;
  /**
   * The condition on `type` for `action`; throws 403 when no scope allows the action on the type.
   * Undefined: no restriction.
   */
  restriction(ctx: AccessContext, type: string, action: AccessAction): Document | undefined;
  /** Like restriction, but a type the caller has no scope for matches nothing (includes, chains). */
  condition(ctx: AccessContext, type: string, action: AccessAction): Document | undefined;
  /** The patients whose records the caller reaches ('all' or a list). */
  patients(ctx: AccessContext): 'all' | string[];
  /**
   * The condition on history entries of a type (or of all types) for this caller; throws 403 when
   * the caller may read only single resources' histories (patients, proxies, granular scopes).
   */
  historyCondition(ctx: AccessContext, type: string | undefined): Document | undefined;
  /**
   * Checks a write: the scope for it, that the caller sees what it changes (else 404), that the
   * resource it would leave is one the caller could see and write, and the patient/proxy rules.
   */
  assertWrite(ctx: AccessContext, action: WriteAction, type: string, next: Resource | undefined, existing: StoredDocumentView | undefined): Promise<void>;
}

/** A stored resource as the write check sees it: the resource and its index fields. */
export interface StoredDocumentView extends ResourceIndexFields {
  _id: string;
  resource: Resource;
}

export interface WriteCheckData extends WriteRuleData {
  /** The index fields the resource would be stored with (partition key, search values). */
  index(resource: Resource): ResourceIndexFields;
}

function membership(type: string, patients: string[]): Document {
  if (patients.length === 0) return NOTHING;
  if (type === 'Patient') return patients.length === 1 ? { _id: patients[0] } : { _id: { $in: patients } };
  if (patients.length === 1) return compartmentCondition(type, patients[0]);
  return { $or: [{ patient: { $in: patients } }, { patients: { $in: patients } }] };
}

function sensitiveExclusion(sensitive: SensitiveDefinition): Document {
  const conds: Document[] = [];
  if (sensitive.securityLabels.length > 0) conds.push({ 'sp._security.sc': { $nin: sensitive.securityLabels } });
  if (sensitive.codes.length > 0) conds.push({ 'sp.code.sc': { $nin: sensitive.codes } });
  return conds.length === 1 ? conds[0] : { $and: conds };
}

const SERVER_VIEW: AccessView = { role: 'server', contexts: ['patient', 'user', 'system'], patients: 'all', releasedOnly: false, granular: new Map() };

export function createAccessPolicy(data: AccessData & WriteCheckData): AccessPolicy {
  const viewOf = (ctx: AccessContext): AccessView => {
    if (ctx.view) return ctx.view;
    // The server's own tools (accounts, recovery) call interactions in-process with all rights.
    if (ctx.principal.kind === 'server') return SERVER_VIEW;
    throw new Error('access: the view of this request was not prepared');
  };

  /** The condition, or 'no-scope' when no scope of the token allows the action on the type. */
  function decide(ctx: AccessContext, type: string, action: AccessAction): Document | undefined | 'no-scope' {
    const view = viewOf(ctx);
    if (view.role === 'server') return undefined;
    const scopes = matchingScopes(ctx.grant, type, action, view.contexts);
    if (scopes.length === 0) return 'no-scope';
    const conds: Document[] = [];
    const granular = view.granular.get(`${action} ${type}`);
    if (granular) conds.push(granular);

    // Whose records: staff with only patient/ scopes (an EHR launch) reach the launch patient.
    let patients = view.patients;
    if (view.role === 'staff' && scopes.every((s) => s.context === 'patient')) {
      patients = ctx.patient && (patients === 'all' || patients.includes(ctx.patient)) ? [ctx.patient] : [];
    }
    const inCompartment = hasPatientCompartment(type);
    if (view.role === 'admin') {
      // Admins administer accounts and read the audit trail, not patients' records.
      if (type !== 'AuditEvent') return NOTHING;
    } else if (view.role === 'staff' && type === 'AuditEvent') {
      // Who looked at a record is for the patient and for the clinic's privacy officers (admins),
      // not for colleagues: the trail would tell staff which of them opened which chart.
      return NOTHING;
    } else if (patients !== 'all') {
      if (inCompartment) conds.push(membership(type, patients));
      else if (!DIRECTORY_TYPES.has(type)) return NOTHING;
    }
    if (view.proxy && inCompartment) {
      if (!view.proxy.types.has(type)) return NOTHING;
      if (action !== 'read' && action !== 'search' && !view.proxy.act) return NOTHING;
      if (view.proxy.hideSensitive) conds.push(sensitiveExclusion(data.sensitive));
    }
    // For every action: a result not released yet is not there for the patient, so a write to it
    // answers 404 like a result that does not exist (not the 403 of the write rules).
    if (view.releasedOnly && RESULT_TYPES.has(type)) conds.push(releasedCondition(new Date()));
    if (conds.length === 0) return undefined;
    return conds.length === 1 ? conds[0] : { $and: conds };
  }

  return {
    async prepare(ctx) {
      ctx.view ??= await buildView(ctx, data);
      return ctx.view;
    },
    restriction(ctx, type, action) {
      // The audit trail is written by the server alone (audit/); through the API it is read-only.
      if (type === 'AuditEvent' && action !== 'read' && action !== 'search' && viewOf(ctx).role !== 'server') {
        throw forbidden('The audit trail cannot be changed through the API: AuditEvents are recorded by the server');
      }
      const decided = decide(ctx, type, action);
      if (decided === 'no-scope') {
        throw forbidden(`The access token has no scope that allows ${action} on ${type}`);
      }
      return decided;
    },
    condition(ctx, type, action) {
      const decided = decide(ctx, type, action);
      return decided === 'no-scope' ? NOTHING : decided;
    },
    patients(ctx) {
      return viewOf(ctx).patients;
    },
    historyCondition(ctx, type) {
      const view = viewOf(ctx);
      if (view.role === 'server') return undefined;
      const condition = this.restriction(ctx, type ?? '*', 'read');
      if (condition === undefined) return undefined;
      // Staff and the audit trail: nothing of the type is theirs, an empty history as a search is.
      if (view.role === 'staff' && condition === NOTHING) return NOTHING;
      // History entries carry the partition key but no search values: only a list of patients
      // can be applied to them, not releases, proxy classes or granular scopes.
      const simple = view.patients !== 'all' && !view.proxy && !view.releasedOnly && !view.granular.has(`read ${type}`);
      if (!simple || view.role === 'admin') {
        throw forbidden('The history of a whole type is not available with this access token; read the history of one resource instead');
      }
      return { patient: { $in: view.patients as string[] } };
    },
    async assertWrite(ctx, action, type, next, existing) {
      const view = viewOf(ctx);
      if (view.role === 'server') return;
      const condition = this.restriction(ctx, type, action);
      const visible = (doc: object) => condition === undefined || matches(condition, doc);
      // What it changes must be visible to the caller: otherwise it is not there for them. One they
      // may see but not change (a proxy who may only view) is a 403: it is there for them.
      if (existing && !visible(existing)) {
        const readable = this.condition(ctx, type, 'read');
        if (readable !== undefined && !matches(readable, existing)) throw notFound(`${type}/${existing._id} is not known`);
        throw forbidden(`The access token allows viewing this ${type}, not changing it`);
      }
      // What it would leave must be too (no writing into someone else's record, or outside a granular scope).
      if (next && !visible({ _id: (next as { id?: string }).id ?? '', ...data.index(next), resource: next })) {
        throw forbidden(`The access token does not allow writing this ${type}: it would be outside what the token reaches`);
      }
      if (view.role === 'patient' || view.role === 'proxy') {
        await assertPatientWrite(view, data, action, type, next, existing?.resource);
      }
      if (view.role === 'admin') throw forbidden('Admins administer accounts; they do not change patients\' records');
    },
  };
}
