// What one caller may see, worked out once per request from the token and the data that grants
// access (the patient's proxy Consents, the staff member's organizations), then asked
// synchronously for each type the request touches (search, includes, chains, reads).
// Proxy grants are read on every request, so revoking or ending a Consent cuts access at once.
import type { Document } from 'mongodb';
import type { AccessContext } from '../fhir/types.ts';
import { DATA_CLASSES, PARENT_RELATIONSHIPS, type SensitiveDefinition } from './data-classes.ts';
import { matchingScopes, scopeQueries, type AccessAction } from './scope-match.ts';
import type { ScopeContext } from './smart-scopes.ts';

/** How access reads the data that grants it, with the server's own rights. */
export interface AccessData {
  read(type: string, id: string): Promise<Record<string, unknown> | undefined>;
  /** Resources of a type matching a database condition (small sets: Consents, roles). */
  find(type: string, filter: Document, limit: number): Promise<Array<Record<string, unknown>>>;
  /** Ids of the resources of a type matching a database condition. */
  ids(type: string, filter: Document, limit: number): Promise<string[]>;
  /** The Group a backend client is limited to (Group/id), if it is. */
  clientGroup(clientId: string): Promise<string | undefined>;
  /** A granular scope's query (v2 `?category=…`) as a database condition on `type`. */
  compile(type: string, params: Array<[string, string]>): Promise<Document>;
  sensitive: SensitiveDefinition;
}

/** A proxy acting for one patient under the active Consents that name them. */
export interface ProxyGrant {
  patient: string;
  relatedPerson: string;
  /** Resource types the Consents grant. */
  types: Set<string>;
  /** `correct` granted: may also act (send messages, request appointments and refills). */
  act: boolean;
  /** A parent of a 12–17-year-old: the sensitive classes stay hidden. */
  hideSensitive: boolean;
}

export type ViewRole = 'patient' | 'proxy' | 'staff' | 'admin' | 'system' | 'server' | 'anonymous';

export interface AccessView {
  role: ViewRole;
  /** Scope contexts that apply to this caller. */
  contexts: ScopeContext[];
  /** Patients whose records the caller reaches: 'all', or a list (empty: none). */
  patients: 'all' | string[];
  proxy?: ProxyGrant;
  /** Results reach this caller only once released (patients and proxies). */
  releasedOnly: boolean;
  /** Granular scope conditions, compiled per "action type". */
  granular: Map<string, Document>;
}

const EMPTY_VIEW = (role: ViewRole): AccessView => ({ role, contexts: [], patients: [], releasedOnly: true, granular: new Map() });

function ageOn(birthDate: string | undefined, on: Date): number | undefined {
  if (!birthDate || !/^\d{4}-\d{2}-\d{2}/.test(birthDate)) return undefined;
  const [y, m, d] = birthDate.slice(0, 10).split('-').map(Number);
  let age = on.getUTCFullYear() - y;
  if (on.getUTCMonth() + 1 < m || (on.getUTCMonth() + 1 === m && on.getUTCDate() < d)) age--;
  return age;
}

function adulthood(birthDate: string): Date {
  const [y, m, d] = birthDate.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(y + 18, m - 1, d));
}

const refId = (ref: unknown, type: string): string | undefined => {
  const r = (ref as { reference?: string } | undefined)?.reference;
  return r?.startsWith(`${type}/`) ? r.slice(type.length + 1) : undefined;
};

/**
 * The active proxy Consents of `patient` for `relatedPerson`, as the grant they make (or none).
 * Active: status active, today within provision.period, the RelatedPerson among the actors; once
 * the patient is 18, only Consents the patient gave as an adult count.
 */
export async function proxyGrant(data: AccessData, patientId: string, relatedPersonId: string, now: Date): Promise<ProxyGrant | undefined> {
  const [patient, related, consents] = await Promise.all([
    data.read('Patient', patientId),
    data.read('RelatedPerson', relatedPersonId),
    data.find('Consent', { patient: patientId, 'sp.status.c': 'active', 'sp.actor.r': `RelatedPerson/${relatedPersonId}` }, 50),
  ]);
  if (!patient || !related || refId(related.patient, 'Patient') !== patientId || related.active === false) return undefined;
  const birthDate = patient.birthDate as string | undefined;
  const age = ageOn(birthDate, now);
  const relationship = ((related.relationship as Array<{ coding?: Array<{ code?: string }> }> | undefined) ?? []).flatMap((r) => r.coding ?? []);
  const parent = relationship.some((c) => c.code && PARENT_RELATIONSHIPS.has(c.code));
  const types = new Set<string>();
  let act = false;
  for (const consent of consents) {
    const provision = consent.provision as { period?: { start?: string; end?: string }; class?: Array<{ code?: string }>; action?: Array<{ coding?: Array<{ code?: string }> }> } | undefined;
    const start = provision?.period?.start ? Date.parse(provision.period.start) : NaN;
    const end = provision?.period?.end ? Date.parse(provision.period.end) + (provision.period.end.length <= 10 ? 86_400_000 : 0) : Infinity;
    if (!(start <= now.getTime() && now.getTime() < end)) continue;
    // An adult's record: only a grant the patient made as an adult (a parent's access ends at 18).
    if (age !== undefined && age >= 18 && birthDate) {
      const grantedBy = (consent.performer as unknown[] | undefined)?.map((p) => refId(p, 'Patient'));
      const given = Date.parse(String(consent.dateTime ?? ''));
      if (!grantedBy?.includes(patientId) || !(given >= adulthood(birthDate).getTime())) continue;
    }
    for (const c of provision?.class ?? []) if (c.code) types.add(c.code);
    if ((provision?.action ?? []).some((a) => (a.coding ?? []).some((c) => c.code === 'correct'))) act = true;
  }
  if (types.size === 0) return undefined;
  const hideSensitive = parent && age !== undefined && age >= 12 && age < 18;
  // The record class (all of its types granted) includes "who accessed the record": the part of
  // the audit trail about this patient. AuditEvent is not a class a Consent names by itself. Not
  // for a parent of an adolescent: the trail would show who looked at what they may not see
  // (a visit to a sexual-health clinic's staff, a psychiatrist reading the record).
  if (!hideSensitive && DATA_CLASSES.record.every((t) => types.has(t))) types.add('AuditEvent');
  return { patient: patientId, relatedPerson: relatedPersonId, types, act, hideSensitive };
}

/**
 * Most patients a staff member of one organization among several reaches by list (the common case,
 * one clinic, is "all" and needs no list).
 */
const MAX_STAFF_PATIENTS = 20_000;

/** Organizations of a practitioner (their roles' organizations) and every organization above them. */
async function staffOrganizations(data: AccessData, practitionerId: string): Promise<string[]> {
  const roles = await data.find('PractitionerRole', { 'sp.practitioner.r': `Practitioner/${practitionerId}`, 'sp.active.c': { $ne: 'false' } }, 100);
  const orgs = new Set<string>();
  let frontier = roles.map((r) => refId(r.organization, 'Organization')).filter((id): id is string => Boolean(id));
  for (let depth = 0; frontier.length > 0 && depth < 10; depth++) {
    const next: string[] = [];
    for (const id of frontier) {
      if (orgs.has(id)) continue;
      orgs.add(id);
      const org = await data.read('Organization', id);
      const parent = refId(org?.partOf, 'Organization');
      if (parent) next.push(parent);
    }
    frontier = next;
  }
  return [...orgs];
}

/** The patients a staff member reaches: all, when no patient is managed outside their organizations. */
async function staffPatients(data: AccessData, orgs: string[]): Promise<'all' | string[]> {
  if (orgs.length === 0) return [];
  const refs = orgs.map((o) => `Organization/${o}`);
  const outside = await data.ids('Patient', { 'sp.organization.r': { $nin: refs } }, 1);
  if (outside.length === 0) return 'all';
  return data.ids('Patient', { 'sp.organization.r': { $in: refs } }, MAX_STAFF_PATIENTS);
}

/** The Patient members of a Group resource that are active (not inactive, period not over). */
export function activePatientMembers(resource: Record<string, unknown> | undefined, now = Date.now()): string[] {
  const members = (resource?.member as Array<{ entity?: { reference?: string }; inactive?: boolean; period?: { end?: string } }> | undefined) ?? [];
  return members
    .filter((m) => !m.inactive && !(m.period?.end && Date.parse(m.period.end) < now))
    .map((m) => refId(m.entity, 'Patient'))
    .filter((id): id is string => Boolean(id));
}

/** The active Patient members of a Group (Group/id). */
async function groupMembers(data: AccessData, group: string): Promise<string[]> {
  return activePatientMembers(await data.read('Group', group.slice('Group/'.length)));
}

/** Works out the view of one request (once; the router keeps it on the context). */
export async function buildView(ctx: AccessContext, data: AccessData, now = new Date()): Promise<AccessView> {
  const p = ctx.principal;
  let view: AccessView;
  if (p.kind === 'server') return { role: 'server', contexts: ['patient', 'user', 'system'], patients: 'all', releasedOnly: false, granular: new Map() };
  if (p.kind === 'anonymous') return EMPTY_VIEW('anonymous');
  if (p.kind === 'system') {
    // A client limited to a Group reaches its members' records only (the Group read every request:
    // membership changes take effect at once). Which Group comes with the token when it was
    // recorded at issue, so that reads do not cost a lookup of the client's registration.
    const group = p.group !== undefined ? (p.group ?? undefined) : await data.clientGroup(p.clientId);
    view = { role: 'system', contexts: ['system'], patients: group ? await groupMembers(data, group) : 'all', releasedOnly: false, granular: new Map() };
  } else if (p.role === 'admin') {
    view = { ...EMPTY_VIEW('admin'), contexts: ['user', 'system'] };
  } else if (p.role === 'staff') {
    const practitioner = p.fhirUser?.startsWith('Practitioner/') ? p.fhirUser.slice('Practitioner/'.length) : undefined;
    const reach = practitioner ? await staffPatients(data, await staffOrganizations(data, practitioner)) : [];
    // A launch context (EHR launch) narrows patient/ scopes to that patient, if the staff member reaches them.
    view = { role: 'staff', contexts: ctx.patient ? ['user', 'patient'] : ['user'], patients: reach, releasedOnly: false, granular: new Map() };
    if (ctx.patient && reach !== 'all' && !reach.includes(ctx.patient)) view.patients = [];
  } else {
    // A patient or proxy: one patient per token (the launch context, chosen in the picker).
    const self = p.fhirUser?.startsWith('Patient/') ? p.fhirUser.slice('Patient/'.length) : undefined;
    const patient = ctx.patient ?? self;
    if (!patient) return EMPTY_VIEW(p.role === 'proxy' ? 'proxy' : 'patient');
    if (patient === self) {
      view = { role: 'patient', contexts: ['patient', 'user'], patients: [patient], releasedOnly: true, granular: new Map() };
    } else {
      const relatedPerson = p.fhirUser?.startsWith('RelatedPerson/') ? p.fhirUser.slice('RelatedPerson/'.length) : undefined;
      const grant = relatedPerson ? await proxyGrant(data, patient, relatedPerson, now) : undefined;
      view = grant
        ? { role: 'proxy', contexts: ['patient', 'user'], patients: [patient], proxy: grant, releasedOnly: true, granular: new Map() }
        : EMPTY_VIEW('proxy');
    }
  }
  // Granular scopes: their queries, compiled once per (action, type) they name.
  for (const scope of ctx.grant?.resources ?? []) {
    if (!scope.query || scope.resourceType === '*' || !view.contexts.includes(scope.context)) continue;
    for (const action of ['read', 'search', 'create', 'update', 'delete'] as AccessAction[]) {
      const key = `${action} ${scope.resourceType}`;
      if (view.granular.has(key)) continue;
      const queries = scopeQueries(matchingScopes(ctx.grant, scope.resourceType, action, view.contexts));
      if (queries === 'unrestricted' || queries.length === 0) continue;
      const conditions = await Promise.all(queries.map((q) => data.compile(scope.resourceType, q)));
      view.granular.set(key, conditions.length === 1 ? conditions[0] : { $or: conditions });
    }
  }
  return view;
}

