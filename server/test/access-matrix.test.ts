// The authorization matrix: every role × the central types × every interaction, through the HTTP
// API with tokens obtained as real apps obtain them (support/access-world.ts). Each role's cells
// are checked together and every wrong cell is listed.
import { expect } from 'chai';
import type { Bundle } from 'fhir/r4';
import { buildWorld, CLASS_PROXIES, LAB, PROXY_CLASSES, TYPES, type MatrixType, type ProxyClass, type World } from './support/access-world.ts';

type Interaction = 'read' | 'vread' | 'search' | 'history' | 'type-history' | 'create' | 'update' | 'patch' | 'delete' | '$everything';
const INTERACTIONS: Interaction[] = ['read', 'vread', 'search', 'history', 'type-history', 'create', 'update', 'patch', 'delete', '$everything'];
const WRITES = new Set<Interaction>(['create', 'update', 'patch', 'delete']);

/** What a cell should answer: a status; for searches also whether Alice's resource is in it. */
type Expected = number | { status: 200; aliceFound: boolean };

const COMPARTMENT: MatrixType[] = ['Patient', 'Observation', 'Condition', 'Appointment', 'MedicationRequest', 'Communication', 'Invoice', 'Consent'];

interface Role {
  name: string;
  token?: string;
  /** Who "I" am when writing (sender, requester). */
  me?: string;
  expect(type: MatrixType, interaction: Interaction): Expected;
}

const found = (yes: boolean): Expected => ({ status: 200, aliceFound: yes });

/**
 * A patient or a proxy of Alice: reads of what they may see, and the portal's writes only.
 * `$everything` (asked of Patient only) answers with the part of Alice's record they may see.
 */
function portalUser(type: MatrixType, interaction: Interaction, o: { visible: (t: MatrixType) => boolean; act: boolean; consentWrites: boolean }): Expected {
  const visible = o.visible(type);
  // Nobody changes the audit trail through the API.
  if (type === 'AuditEvent' && WRITES.has(interaction)) return 403;
  switch (interaction) {
    case 'read':
    case 'vread':
    case 'history':
      return visible ? 200 : 404;
    case 'search':
      return found(visible);
    case '$everything':
      return 200;
    case 'type-history':
      // The clinic's directory is nobody's record: its history is as open as the directory.
      return type === 'Practitioner' ? 200 : 403;
    case 'create':
      if (!o.act) return 403;
      if (['Communication', 'Appointment', 'MedicationRequest'].includes(type)) return visible ? 201 : 403;
      if (type === 'Consent') return o.consentWrites ? 201 : 403;
      return 403;
    case 'update':
    case 'patch':
      if (type === 'Patient' || type === 'Appointment') return o.act && visible ? 200 : visible ? 403 : 404;
      if (type === 'Consent') return o.consentWrites ? 200 : visible ? 403 : 404;
      return visible ? 403 : 404;
    case 'delete':
      // The Patient deleted is a new one (not the patient in context): not there for them.
      return visible && type !== 'Patient' ? 403 : 404;
  }
}

/** Staff, admins and system clients see no AuditEvent through the ordinary rules: their own. */
function auditEventCell(interaction: Interaction, reads: boolean, typeHistory: number): Expected {
  if (WRITES.has(interaction)) return 403;
  if (interaction === 'search') return found(reads);
  if (interaction === 'type-history') return typeHistory;
  return reads ? 200 : 404;
}

function roles(world: World): Role[] {
  const t = world.tokens;
  const all = (status: number) => () => status;
  const classProxies: Role[] = (Object.keys(CLASS_PROXIES) as ProxyClass[]).map((cls) => ({
    name: `proxy with ${cls} only, ${CLASS_PROXIES[cls].act ? 'acting' : 'viewing'}`,
    token: t[`proxy ${cls}`],
    me: `RelatedPerson/${world.proxies[cls]}`,
    expect: (type, i) =>
      portalUser(type, i, {
        // The part of the trail about the patient comes with the whole record class.
        visible: (x) => (PROXY_CLASSES[cls] as readonly string[]).includes(x) || x === 'Practitioner' || (cls === 'record' && x === 'AuditEvent'),
        act: CLASS_PROXIES[cls].act,
        consentWrites: false,
      }),
  }));
  return [
    { name: 'no token', expect: all(401) },
    {
      name: 'patient',
      token: t.patient,
      me: `Patient/${world.alice.id}`,
      expect: (type, i) => portalUser(type, i, { visible: () => true, act: true, consentWrites: true }),
    },
    {
      name: 'proxy with every class, acting',
      token: t['proxy all'],
      me: `RelatedPerson/${world.proxies.all}`,
      expect: (type, i) => portalUser(type, i, { visible: (x) => x !== 'Consent', act: true, consentWrites: false }),
    },
    ...classProxies,
    { name: 'proxy whose Consent ended', token: t['proxy ended'], expect: all(403) },
    { name: 'proxy whose Consent was revoked', token: t['proxy revoked'], expect: all(403) },
    {
      name: 'parent of a 15-year-old (another patient), acting',
      token: t['proxy parent'],
      me: `RelatedPerson/${world.proxies.parent}`,
      expect: (type, i) => (i === '$everything' ? 404 : portalUser(type, i, { visible: (x) => x === 'Practitioner', act: true, consentWrites: false })),
    },
    {
      name: 'clinician',
      token: t.clinician,
      me: `Practitioner/${world.practitioner}`,
      expect: (type, i) => (type === 'AuditEvent' ? auditEventCell(i, false, 200) : i === 'search' ? found(true) : i === 'create' ? 201 : 200),
    },
    {
      name: 'admin',
      token: t.admin,
      expect: (type, i) => {
        if (type === 'AuditEvent') return auditEventCell(i, true, 200);
        if (i === 'search') return found(false);
        if (i === 'read' || i === 'vread' || i === 'history' || i === '$everything') return 404;
        return 403;
      },
    },
    {
      name: 'system client, wide scopes',
      token: t['system, wide'],
      expect: (type, i) => (type === 'AuditEvent' ? auditEventCell(i, true, 200) : i === 'search' ? found(true) : i === 'create' ? 201 : 200),
    },
    {
      name: 'system client, Observation only',
      token: t['system, Observation only'],
      expect: (type, i) => {
        // $everything: the part of the record its scopes reach (Alice's Observations).
        if (i === '$everything') return 200;
        if (type !== 'Observation') return 403;
        if (i === 'search') return found(true);
        return ['read', 'vread', 'history', 'type-history'].includes(i) ? 200 : 403;
      },
    },
    {
      name: 'patient token with only patient/Observation.rs?category=laboratory',
      token: t['patient, lab results only'],
      expect: (type, i) => {
        if (i === '$everything') return 200;
        if (type !== 'Observation') return 403;
        if (i === 'search') return found(true);
        if (i === 'read' || i === 'vread' || i === 'history') return 200;
        return 403;
      },
    },
  ];
}

/** A new resource of the type in Alice's record, as the role would write it. */
function newResource(world: World, type: MatrixType, me: string | undefined): Record<string, unknown> {
  const subject = { reference: `Patient/${world.alice.id}` };
  const self = me ?? `Practitioner/${world.practitioner}`;
  switch (type) {
    case 'Patient':
      return { resourceType: 'Patient', name: [{ family: 'Matrixnew' }], managingOrganization: { reference: `Organization/${world.clinic}` } };
    case 'Observation':
      return { resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: LAB.split('|')[0], code: 'laboratory' }] }], code: { text: 'Glucose' }, subject, valueQuantity: { value: 5.4, unit: 'mmol/L' } };
    case 'Condition':
      return { resourceType: 'Condition', code: { text: 'Migraine' }, subject };
    case 'Appointment':
      return { resourceType: 'Appointment', status: 'proposed', description: 'Check-up', participant: [{ actor: subject, status: 'needs-action' }] };
    case 'MedicationRequest':
      return {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'proposal',
        medicationCodeableConcept: { text: 'lisinopril 10 MG' },
        subject,
        basedOn: [{ reference: `MedicationRequest/${world.alice.own.MedicationRequest}` }],
        requester: { reference: self },
      };
    case 'Communication':
      return { resourceType: 'Communication', status: 'completed', subject, sender: { reference: self }, recipient: [{ reference: `Practitioner/${world.practitioner}` }], payload: [{ contentString: 'A question' }] };
    case 'Invoice':
      return { resourceType: 'Invoice', status: 'draft', subject };
    case 'Consent': {
      return {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: subject,
        dateTime: new Date().toISOString(),
        performer: [subject],
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        provision: {
          type: 'permit',
          period: { start: new Date().toISOString().slice(0, 10) },
          actor: [
            {
              role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
              reference: { reference: `RelatedPerson/${world.proxies.results}` },
            },
          ],
          action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
          class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }],
        },
      };
    }
    case 'Practitioner':
      return { resourceType: 'Practitioner', name: [{ family: 'Newdoc' }] };
    case 'AuditEvent':
      return {
        resourceType: 'AuditEvent',
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
        recorded: new Date().toISOString(),
        agent: [{ who: { reference: self }, requestor: true }],
        source: { observer: { display: 'someone' } },
        entity: [{ what: subject }],
      };
  }
}

/** The change a role's update makes: what the portal allows where it allows anything. */
function changed(type: MatrixType, current: Record<string, unknown>): Record<string, unknown> {
  if (type === 'Patient') return { ...current, telecom: [{ system: 'phone', value: '555-0199' }] };
  if (type === 'Appointment') return { ...current, status: 'cancelled', cancelationReason: { text: 'Cannot come' } };
  if (type === 'Consent') return { ...current, provision: { ...(current.provision as object), period: { start: new Date().toISOString().slice(0, 10), end: '2099-01-01' } } };
  if (type === 'Practitioner') return { ...current, telecom: [{ system: 'phone', value: '555-0100' }] };
  return { ...current, meta: undefined, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">changed</div>' } };
}

function patchOf(type: MatrixType): unknown[] {
  if (type === 'Patient') return [{ op: 'add', path: '/telecom', value: [{ system: 'phone', value: '555-0198' }] }];
  if (type === 'Appointment') return [{ op: 'replace', path: '/status', value: 'cancelled' }, { op: 'add', path: '/cancelationReason', value: { text: 'Away' } }];
  if (type === 'Consent') return [{ op: 'replace', path: '/provision/period', value: { start: new Date().toISOString().slice(0, 10), end: '2098-01-01' } }];
  return [{ op: 'add', path: '/text', value: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">patched</div>' } }];
}

describe('access: the authorization matrix', function () {
  this.timeout(600_000);
  let world: World;
  before(async () => {
    world = await buildWorld();
  });
  after(async () => {
    await world?.server.close();
  });

  async function call(token: string | undefined, method: string, path: string, body?: unknown, contentType = 'application/fhir+json') {
    const res = await fetch(`${world.server.fhirUrl}/${path}`, {
      method,
      headers: { accept: 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  /** A fresh resource in Alice's record for a role's write (Patient: Alice herself). */
  async function fresh(type: MatrixType): Promise<{ id: string; resource: Record<string, unknown> }> {
    if (type === 'Patient') {
      const current = await call(await world.system('system/*.rs'), 'GET', `Patient/${world.alice.id}`);
      return { id: world.alice.id, resource: current.body! };
    }
    const original = await call(await world.system('system/*.rs'), 'GET', `${type}/${world.alice.own[type]}`);
    // The trail cannot be written through the API (not even by the tools): writes go to Alice's entry.
    if (type === 'AuditEvent') return { id: world.alice.own[type], resource: original.body! };
    const { id: _id, meta: _meta, ...copy } = original.body!;
    // A copy of a proxy Consent that grants the results-only proxy nothing more than it has.
    if (type === 'Consent') {
      const provision = copy.provision as { actor: Array<{ reference: unknown }>; class: unknown[] };
      provision.actor = provision.actor.map((a) => ({ ...a, reference: { reference: `RelatedPerson/${world.proxies.results}` } }));
      provision.class = [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }];
    }
    const id = await world.create(copy);
    return { id, resource: { ...copy, id } };
  }

  async function cell(role: Role, type: MatrixType, interaction: Interaction): Promise<string | undefined> {
    const expected = role.expect(type, interaction);
    const id = world.alice.own[type];
    let status: number;
    let detail = '';
    switch (interaction) {
      case 'read':
        status = (await call(role.token, 'GET', `${type}/${id}`)).status;
        break;
      case 'vread':
        status = (await call(role.token, 'GET', `${type}/${id}/_history/1`)).status;
        break;
      case 'history':
        status = (await call(role.token, 'GET', `${type}/${id}/_history`)).status;
        break;
      case 'type-history':
        status = (await call(role.token, 'GET', `${type}/_history?_count=1`)).status;
        break;
      case 'search': {
        const res = await call(role.token, 'GET', `${type}?_id=${id}`);
        status = res.status;
        if (typeof expected === 'object' && status === 200) {
          const ids = ((res.body as unknown as Bundle).entry ?? []).map((e) => e.resource?.id);
          if (ids.includes(id) !== expected.aliceFound) detail = ` (Alice's ${type} ${ids.includes(id) ? 'found' : 'not found'})`;
        }
        break;
      }
      case 'create':
        status = (await call(role.token, 'POST', type, newResource(world, type, role.me))).status;
        break;
      case 'update': {
        const target = await fresh(type);
        status = (await call(role.token, 'PUT', `${type}/${target.id}`, changed(type, target.resource))).status;
        break;
      }
      case 'patch': {
        const target = await fresh(type);
        status = (await call(role.token, 'PATCH', `${type}/${target.id}`, patchOf(type), 'application/json-patch+json')).status;
        break;
      }
      case '$everything': {
        const res = await call(role.token, 'GET', `Patient/${world.alice.id}/$everything?_count=500`);
        status = res.status;
        break;
      }
      case 'delete': {
        const target = type === 'Patient' ? { id: (await fresh('Patient')).id } : await fresh(type);
        // Alice herself is never deleted: a clinician's or system's delete goes to a new patient.
        const targetId = type === 'Patient' ? await world.create(newResource(world, 'Patient', undefined)) : target.id;
        status = (await call(role.token, 'DELETE', `${type}/${targetId}`)).status;
        break;
      }
    }
    const want = typeof expected === 'number' ? expected : expected.status;
    if (status !== want || detail) return `${interaction} ${type}: ${status}${detail}, expected ${want}${typeof expected === 'object' ? (expected.aliceFound ? ' with Alice’s' : ' without Alice’s') : ''}`;
    return undefined;
  }

  it('every role × type × interaction answers as the policy says', async function () {
    const wrong: string[] = [];
    for (const role of roles(world)) {
      for (const type of TYPES) {
        for (const interaction of INTERACTIONS) {
          if (interaction === '$everything' && type !== 'Patient') continue;
          const problem = await cell(role, type, interaction);
          if (problem) wrong.push(`${role.name}: ${problem}`);
        }
      }
    }
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });

  it('patients and proxies see results only once released; clinicians see them at once', async () => {
    for (const [name, token, status] of [
      ['patient', world.tokens.patient, 404],
      ['proxy with results', world.tokens['proxy results'], 404],
      ['clinician', world.tokens.clinician, 200],
    ] as const) {
      expect((await call(token, 'GET', `Observation/${world.aliceUnreleased}`)).status, name).to.equal(status);
    }
    // The lab-only token sees the lab result, not the vital sign.
    const labOnly = world.tokens['patient, lab results only'];
    expect((await call(labOnly, 'GET', `Observation/${world.alice.own.Observation}`)).status).to.equal(200);
    expect((await call(labOnly, 'GET', `Observation/${world.aliceVitals}`)).status).to.equal(404);
    const search = await call(labOnly, 'GET', `Observation?patient=${world.alice.id}&_count=500`);
    const ids = ((search.body as unknown as Bundle).entry ?? []).map((e) => e.resource?.id);
    expect(ids).to.include(world.alice.own.Observation).and.not.include(world.aliceVitals);
  });

  it("a parent proxy of a 15-year-old does not see the sensitive classes; other data stays visible", async () => {
    const parent = world.tokens['proxy parent'];
    expect((await call(parent, 'GET', `Condition/${world.teenSensitive}`)).status).to.equal(404);
    expect((await call(parent, 'GET', `Condition/${world.teenOrdinary}`)).status).to.equal(200);
    const search = await call(parent, 'GET', `Condition?patient=${world.teen.id}`);
    const ids = ((search.body as unknown as Bundle).entry ?? []).map((e) => e.resource?.id);
    expect(ids).to.include(world.teenOrdinary).and.not.include(world.teenSensitive);
    // The clinician sees both.
    expect((await call(world.tokens.clinician, 'GET', `Condition/${world.teenSensitive}`)).status).to.equal(200);
  });

  it('a backend client limited to a Group reaches only its members, as members change', async () => {
    const group = await world.create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${world.alice.id}` } }] });
    const { registerBackendClient, backendConfiguration } = await import('./support/test-auth.ts');
    const { clientCredentialsGrant } = await import('openid-client');
    const credentials = await registerBackendClient(world.server.running.auth.services.clients, { scope: 'system/*.rs', group: `Group/${group}` });
    const token = (await clientCredentialsGrant(await backendConfiguration(world.server.baseUrl, credentials), { scope: 'system/*.rs' })).access_token;
    const patients = await call(token, 'GET', 'Patient?_count=100');
    const ids = ((patients.body as unknown as Bundle).entry ?? []).map((e) => e.resource?.id);
    expect(ids).to.deep.equal([world.alice.id]);
    expect((await call(token, 'GET', `Observation/${world.bob.own.Observation}`)).status).to.equal(404);
    expect((await call(token, 'GET', `Observation/${world.alice.own.Observation}`)).status).to.equal(200);
    // Bob joins the Group: the same token reaches him on the next request.
    const system = await world.system('system/*.cruds');
    const current = await call(system, 'GET', `Group/${group}`);
    await call(system, 'PUT', `Group/${group}`, { ...current.body, member: [{ entity: { reference: `Patient/${world.alice.id}` } }, { entity: { reference: `Patient/${world.bob.id}` } }] });
    expect((await call(token, 'GET', `Observation/${world.bob.own.Observation}`)).status).to.equal(200);
  });

  it('a backend client limited to a Group stays limited to it while it is being removed (registration gone, tokens not yet)', async () => {
    const group = await world.create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${world.alice.id}` } }] });
    const { registerBackendClient, backendConfiguration } = await import('./support/test-auth.ts');
    const { clientCredentialsGrant } = await import('openid-client');
    const { CLIENTS_COLLECTION } = await import('../src/auth/clients.ts');
    const credentials = await registerBackendClient(world.server.running.auth.services.clients, { scope: 'system/*.rs', group: `Group/${group}` });
    const token = (await clientCredentialsGrant(await backendConfiguration(world.server.baseUrl, credentials), { scope: 'system/*.rs' })).access_token;
    expect((await call(token, 'GET', `Observation/${world.bob.own.Observation}`)).status).to.equal(404);
    // `clients remove` deletes the registration, then the client's tokens: a request in between
    // must not find the client unlimited.
    await world.server.running.database.db.collection(CLIENTS_COLLECTION).deleteOne({ _id: credentials.clientId } as never);
    expect((await call(token, 'GET', `Observation/${world.bob.own.Observation}`)).status).to.equal(404);
    const patients = await call(token, 'GET', 'Patient?_count=100');
    expect(((patients.body as unknown as Bundle).entry ?? []).map((e) => e.resource?.id)).to.deep.equal([world.alice.id]);
  });

  it('nobody in a patient context reaches another patient: 404 like a resource that does not exist', async () => {
    for (const token of [world.tokens.patient, world.tokens['proxy all']]) {
      const other = await call(token, 'GET', `Observation/${world.bob.own.Observation}`);
      const missing = await call(token, 'GET', 'Observation/does-not-exist');
      expect(other.status).to.equal(404);
      expect(missing.status).to.equal(404);
      expect(Object.keys(other.body!)).to.deep.equal(Object.keys(missing.body!));
      const search = await call(token, 'GET', `Observation?patient=${world.bob.id}&_total=accurate`);
      expect((search.body as unknown as Bundle).total).to.equal(0);
    }
  });
});
