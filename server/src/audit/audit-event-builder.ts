// Queued audit records → FHIR AuditEvent resources, in the spirit of IHE Basic Audit Log Patterns
// (BALP): type and subtype, action, outcome, the client app (Source Role ID) with its network
// address, the person (information recipient or author), the server (Destination Role ID), the
// patient and the resources touched, the request id. No clinical content: references, codes and
// the names of query parameters only (BALP would keep the whole query; its values can be health
// data, so they are left out).
//
// One AuditEvent per patient: when an answer touched several patients' records, each gets its
// own event (BALP PatientQuery: "one AuditEvent is created for every Patient identified in the
// resulting search set"), so that a patient reading "who accessed my record" sees events about
// their record only, never another patient's id.
// See: https://profiles.ihe.net/ITI/BALP/ and https://hl7.org/fhir/R4/auditevent.html
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from 'fhir/r4';
import type { AccountAuditRecord, AuditActor, AuditRecord, GapAuditRecord, RestAuditRecord, TokenAuditRecord } from './audit-record.ts';

// Codes used (their displays are left out, see code()): DICOM 110153 Source Role ID (the client
// app), 110152 Destination Role ID (this server), 110114 User Authentication, 110122 Login,
// 110123 Logout, 110137 User Security Attributes Changed, 110113 Security Alert; v3
// ParticipationType IRCP information recipient, AUT author; audit-entity-type 1 Person, 2 System
// Object; object-role 1 Patient, 4 Domain Resource, 13 Security Resource, 24 Query;
// security-source-type 4 Application Server.
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const BALP_ENTITY = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';
/** The project's own subtypes: operations ($release), token and account events. */
export const AUDIT_SUBTYPE_SYSTEM = 'https://health-records.dev/fhir/CodeSystem/audit-event-subtype';

/** What the builder needs to know besides the records: resolved before building (audit-trail.ts). */
export interface AuditContext {
  /** The server's base URL (https://…), for the server agent and identifier systems. */
  baseUrl: string;
  /** Display names of OAuth clients ("Patient portal"), when known. */
  clientName(clientId: string): string | undefined;
  /** The FHIR resource an account is (Patient/…, Practitioner/…), when known. */
  accountFhirUser(accountId: string): string | undefined;
}

/**
 * A coding without its display: every event is stored and indexed, and most of a trail is codes
 * repeated millions of times; the code systems give the displays (a third of the event's size).
 */
const code = (system: string, c: string): Coding => ({ system, code: c });

const ACTIONS: Partial<Record<RestAuditRecord['interaction'], AuditEvent['action']>> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
};

/** R4 AuditEvent.outcome: 0 success, 4 minor failure (the client's), 8 serious failure (the server's). */
function outcomeOf(status: number): AuditEvent['outcome'] {
  if (status < 400) return '0';
  return status < 500 ? '4' : '8';
}

function clientAgent(actor: AuditActor, ctx: AuditContext, requestor: boolean): AuditEventAgent | undefined {
  if (!actor.clientId) return undefined;
  const agent: AuditEventAgent = {
    type: { coding: [code(DCM, '110153')] },
    who: { identifier: { system: `${ctx.baseUrl}/auth/clients`, value: actor.clientId }, display: ctx.clientName(actor.clientId) ?? actor.clientId },
    requestor,
  };
  if (actor.address) agent.network = { address: actor.address, type: '2' };
  return agent;
}

function personAgent(actor: AuditActor, ctx: AuditContext, role: Coding): AuditEventAgent | undefined {
  const fhirUser = actor.fhirUser ?? (actor.accountId ? ctx.accountFhirUser(actor.accountId) : undefined);
  if (!fhirUser && !actor.accountId) return undefined;
  const agent: AuditEventAgent = {
    type: { coding: [role] },
    who: fhirUser ? { reference: fhirUser } : { identifier: { system: `${ctx.baseUrl}/auth/accounts`, value: actor.accountId } },
    requestor: true,
  };
  if (actor.accountId) agent.altId = actor.accountId;
  if (!actor.clientId && actor.address) agent.network = { address: actor.address, type: '2' };
  return agent;
}

function serverAgent(ctx: AuditContext): AuditEventAgent {
  return {
    type: { coding: [code(DCM, '110152')] },
    who: { display: 'FHIR server' },
    requestor: false,
    network: { address: `${ctx.baseUrl}/fhir`, type: '5' },
  };
}

/** The agents of an event: the app (and the person using it, if any), then the server. */
function agents(actor: AuditActor, ctx: AuditContext, personRole: Coding): AuditEventAgent[] {
  const person = actor.system ? undefined : personAgent(actor, ctx, personRole);
  const client = clientAgent(actor, ctx, !person);
  const list = [client, person].filter((a): a is AuditEventAgent => a !== undefined);
  if (list.length === 0) list.push({ who: { display: 'unknown caller' }, requestor: true, ...(actor.address ? { network: { address: actor.address, type: '2' } } : {}) });
  list.push(serverAgent(ctx));
  return list;
}

function source(ctx: AuditContext): AuditEvent['source'] {
  return { site: ctx.baseUrl, observer: { display: 'health-records FHIR server' }, type: [code(SOURCE_TYPE, '4')] };
}

const patientEntity = (id: string): AuditEventEntity => ({
  what: { reference: `Patient/${id}` },
  type: code(ENTITY_TYPE, '1'),
  role: code(OBJECT_ROLE, '1'),
});

const resourceEntity = (reference: string): AuditEventEntity => ({
  what: { reference },
  type: code(ENTITY_TYPE, '2'),
  role: code(OBJECT_ROLE, '4'),
});

const queryEntity = (description: string): AuditEventEntity => ({
  type: code(ENTITY_TYPE, '2'),
  role: code(OBJECT_ROLE, '24'),
  description,
});

const securityEntity = (description: string): AuditEventEntity => ({
  type: code(ENTITY_TYPE, '2'),
  role: code(OBJECT_ROLE, '13'),
  description,
});

const requestIdEntity = (requestId: string): AuditEventEntity => ({ what: { identifier: { value: requestId } }, type: code(BALP_ENTITY, 'XrequestId') });

/**
 * Splits what one record touched by patient: one group per patient with the resources in their
 * record, and one group without a patient for resources in no one's record (or when no patient
 * was touched at all).
 */
function byPatient(patients: readonly string[], resources: RestAuditRecord['resources']): Array<{ patient?: string; references: string[] }> {
  const all = new Set(patients);
  for (const r of resources) for (const p of r.patients) all.add(p);
  const groups: Array<{ patient?: string; references: string[] }> = [...all].map((patient) => ({
    patient,
    // The Patient resource itself is the patient entity already.
    references: resources.filter((r) => r.patients.includes(patient) && r.reference !== `Patient/${patient}`).map((r) => r.reference),
  }));
  const unowned = resources.filter((r) => r.patients.length === 0).map((r) => r.reference);
  if (unowned.length > 0 || groups.length === 0) groups.push({ references: unowned });
  return groups;
}

const READ_LIKE = new Set(['read', 'vread', 'history-instance']);

function restEvents(r: RestAuditRecord, ctx: AuditContext): AuditEvent[] {
  const subtype = [code(INTERACTION, r.interaction)];
  if (r.operation) subtype.push(code(AUDIT_SUBTYPE_SYSTEM, `$${r.operation}`));
  const action = ACTIONS[r.interaction] ?? 'E';
  const writes = action === 'C' || action === 'U' || action === 'D';
  const personRole = writes ? code(PARTICIPATION, 'AUT') : code(PARTICIPATION, 'IRCP');
  const base: Omit<AuditEvent, 'entity'> = {
    resourceType: 'AuditEvent',
    type: code(EVENT_TYPE, 'rest'),
    subtype,
    action,
    recorded: r.at.toISOString(),
    outcome: outcomeOf(r.status),
    outcomeDesc: `HTTP ${r.status}`,
    agent: agents(r.actor, ctx, personRole),
    source: source(ctx),
  };
  const query = READ_LIKE.has(r.interaction) || writes ? undefined : queryEntity(r.request);
  return byPatient(r.patients, r.resources).map(({ patient, references }) => {
    const entity: AuditEventEntity[] = [];
    if (patient) entity.push(patientEntity(patient));
    for (const ref of references) entity.push(resourceEntity(ref));
    if (query) entity.push(query);
    entity.push(requestIdEntity(r.requestId));
    return { ...base, entity };
  });
}

function tokenEvent(r: TokenAuditRecord, ctx: AuditContext): AuditEvent {
  const entity: AuditEventEntity[] = [];
  if (r.patient) entity.push(patientEntity(r.patient));
  const details = [r.grantType && `grant_type=${r.grantType}`, r.scope && `scope=${r.scope}`, r.error && `error=${r.error}`].filter(Boolean).join(' ');
  if (details) entity.push(securityEntity(details));
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: code(DCM, '110114'),
    subtype: [code(AUDIT_SUBTYPE_SYSTEM, r.event)],
    action: 'E',
    recorded: r.at.toISOString(),
    outcome: r.event === 'token-refused' ? '4' : '0',
    agent: agents(r.actor, ctx, code(PARTICIPATION, 'IRCP')),
    source: source(ctx),
  };
  if (r.error) event.outcomeDesc = r.error;
  if (entity.length > 0) event.entity = entity;
  return event;
}

const SIGN_IN_EVENTS: Record<string, Coding | undefined> = {
  'sign-in': code(DCM, '110122'),
  'sign-in-failed': code(DCM, '110122'),
  'second-factor-failed': code(DCM, '110122'),
  'sign-out': code(DCM, '110123'),
};
const FAILURES = new Set(['sign-in-failed', 'second-factor-failed']);

function accountEvent(r: AccountAuditRecord, ctx: AuditContext): AuditEvent {
  const signIn = SIGN_IN_EVENTS[r.event];
  const subtype = [code(AUDIT_SUBTYPE_SYSTEM, r.event)];
  if (signIn) subtype.unshift(signIn);
  const agent: AuditEventAgent[] = [];
  const acting = r.actorAccountId && r.actorAccountId !== r.accountId ? r.actorAccountId : undefined;
  const account = personAgent({ accountId: r.accountId, address: acting ? undefined : r.address }, ctx, code(PARTICIPATION, 'IRCP'));
  if (acting) {
    const actor = personAgent({ accountId: acting, address: r.address }, ctx, code(PARTICIPATION, 'AUT'));
    if (actor) agent.push(actor);
    if (account) agent.push({ ...account, requestor: false });
  } else if (account) {
    agent.push(account);
  } else {
    // A failed sign-in with a username no account has: who tried is only an address.
    agent.push({ who: { display: 'unknown account' }, requestor: true, ...(r.address ? { network: { address: r.address, type: '2' } } : {}) });
  }
  if (r.clientId) agent.push(clientAgent({ clientId: r.clientId }, ctx, false)!);
  agent.push(serverAgent(ctx));
  const entity: AuditEventEntity[] = [];
  if (r.subject?.startsWith('Patient/')) entity.push(patientEntity(r.subject.slice('Patient/'.length)));
  else if (r.subject) entity.push(resourceEntity(r.subject));
  if (r.method) entity.push(securityEntity(`method=${r.method}`));
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: signIn ? code(DCM, '110114') : code(DCM, '110137'),
    subtype,
    action: 'E',
    recorded: r.at.toISOString(),
    outcome: FAILURES.has(r.event) ? '4' : '0',
    agent,
    source: source(ctx),
  };
  if (r.reason) event.outcomeDesc = r.reason;
  if (entity.length > 0) event.entity = entity;
  return event;
}

function gapEvent(r: GapAuditRecord, ctx: AuditContext): AuditEvent {
  return {
    resourceType: 'AuditEvent',
    type: code(DCM, '110113'),
    subtype: [code(AUDIT_SUBTYPE_SYSTEM, 'audit-records-lost')],
    action: 'E',
    recorded: r.at.toISOString(),
    outcome: '8',
    outcomeDesc: `${r.lost} audit record(s) from ${r.from.toISOString()} to ${r.to.toISOString()} were lost: the audit queue was full while the database refused writes`,
    agent: [{ ...serverAgent(ctx), requestor: true }],
    source: source(ctx),
  };
}

/** The AuditEvents of one record (several for an answer that touched several patients). */
export function auditEventsOf(record: AuditRecord, ctx: AuditContext): AuditEvent[] {
  switch (record.kind) {
    case 'rest':
      return restEvents(record, ctx);
    case 'token':
      return [tokenEvent(record, ctx)];
    case 'account':
      return [accountEvent(record, ctx)];
    case 'gap':
      return [gapEvent(record, ctx)];
  }
}
