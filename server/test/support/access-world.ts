// A clinic with people in every role, their records, and tokens obtained as real apps obtain them
// (accounts through the enrolment flows, sign-in through the pages, tokens from the token
// endpoint with openid-client; backend services with their own keys): the world the access
// matrix and leak tests run in.
import * as oidc from 'openid-client';
import { createPatient, registerApp, startAccountsServer, uniqueEmail, type AccountsServer, type TestPatient } from './accounts.ts';
import { People } from './people.ts';
import { backendConfiguration, registerBackendClient } from './test-auth.ts';

export const TYPES = ['Patient', 'Observation', 'Condition', 'Appointment', 'MedicationRequest', 'Communication', 'Invoice', 'Consent', 'AuditEvent', 'Practitioner'] as const;
export type MatrixType = (typeof TYPES)[number];

export const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CLASSES = ['Patient', 'Observation', 'DiagnosticReport', 'Condition', 'AllergyIntolerance', 'MedicationRequest', 'Immunization', 'Encounter', 'Appointment', 'Communication', 'Invoice'];

/**
 * The classes of data a patient can grant a proxy (as the portal groups them) and the resource
 * types each stands for in a Consent's provision.class. Written out here rather than imported from
 * the product (access/data-classes.ts): the test states the policy it checks.
 */
export const PROXY_CLASSES = {
  results: ['Observation', 'DiagnosticReport'],
  record: ['Patient', 'Condition', 'AllergyIntolerance', 'Immunization', 'Encounter'],
  medications: ['MedicationRequest'],
  appointments: ['Appointment'],
  messages: ['Communication'],
  billing: ['Invoice'],
} as const;
export type ProxyClass = keyof typeof PROXY_CLASSES;

/** Alice's proxies: one per class (view only, or acting where the portal lets them act), and others. */
export const CLASS_PROXIES: Record<ProxyClass, { act: boolean }> = {
  results: { act: false },
  record: { act: false },
  medications: { act: true },
  appointments: { act: true },
  messages: { act: true },
  billing: { act: false },
};
export type ProxyKey = ProxyClass | 'all' | 'ended' | 'revoked' | 'parent';

export interface Person extends TestPatient {
  /** Ids of one resource of each type in the person's record. */
  own: Record<string, string>;
}

export interface World {
  server: AccountsServer;
  clinic: string;
  practitioner: string;
  alice: Person;
  bob: Person;
  teen: Person;
  /** Alice's results that are not hers to see yet (a pathology report issued an hour ago), and a vital sign. */
  aliceUnreleased: string;
  aliceVitals: string;
  /** The teen's sensitive condition (depression) and an ordinary one. */
  teenSensitive: string;
  teenOrdinary: string;
  proxies: Record<ProxyKey, string>;
  tokens: Record<string, string>;
  /** A token source for a fresh token of a role (tokens are exchanged once; roles may need more). */
  system(scope: string): Promise<string>;
  /** Creates a resource with the server's tools client. */
  create(resource: Record<string, unknown>): Promise<string>;
}

async function tools(server: AccountsServer, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.fhirUrl}/${path}`, {
    method,
    headers: { authorization: `Bearer ${await server.toolsToken()}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function createWith(server: AccountsServer, resource: Record<string, unknown>): Promise<string> {
  const res = await tools(server, 'POST', String(resource.resourceType), resource);
  if (res.status !== 201) throw new Error(`creating ${String(resource.resourceType)}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

const isoDaysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const dayFromNow = (days: number) => isoDaysFromNow(days).slice(0, 10);

/** One resource of each compartment type for a patient (results final and released at once). */
async function recordOf(server: AccountsServer, patient: string, practitioner: string): Promise<Record<string, string>> {
  const subject = { reference: `Patient/${patient}` };
  const own: Record<string, string> = { Patient: patient, Practitioner: practitioner };
  own.Observation = await createWith(server, {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }], text: 'HbA1c' },
    subject,
    effectiveDateTime: isoDaysFromNow(-3),
    issued: isoDaysFromNow(-2),
    valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
  });
  own.Condition = await createWith(server, {
    resourceType: 'Condition',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }], text: 'Hypertension' },
    subject,
  });
  own.Appointment = await createWith(server, {
    resourceType: 'Appointment',
    status: 'booked',
    start: isoDaysFromNow(10),
    end: isoDaysFromNow(10.02),
    participant: [
      { actor: subject, status: 'accepted' },
      { actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' },
    ],
  });
  own.MedicationRequest = await createWith(server, {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }], text: 'lisinopril 10 MG' },
    subject,
    authoredOn: dayFromNow(-30),
    requester: { reference: `Practitioner/${practitioner}` },
  });
  own.Communication = await createWith(server, {
    resourceType: 'Communication',
    status: 'completed',
    subject,
    sender: { reference: `Practitioner/${practitioner}` },
    recipient: [subject],
    sent: isoDaysFromNow(-1),
    payload: [{ contentString: 'Your results look good.' }],
  });
  own.Invoice = await createWith(server, {
    resourceType: 'Invoice',
    status: 'issued',
    subject,
    date: isoDaysFromNow(-5),
    totalGross: { value: 40, currency: 'USD' },
  });
  return own;
}

function proxyConsent(patient: string, relatedPerson: string, o: { classes: string[]; act: boolean; start?: string; end?: string; status?: string; performer?: string }) {
  return {
    resourceType: 'Consent',
    meta: { profile: ['https://health-records.dev/fhir/StructureDefinition/proxy-consent'] },
    status: o.status ?? 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    dateTime: isoDaysFromNow(-100),
    performer: [{ reference: o.performer ?? `Patient/${patient}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: { start: o.start ?? dayFromNow(-100), ...(o.end ? { end: o.end } : {}) },
      actor: [
        {
          role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
          reference: { reference: `RelatedPerson/${relatedPerson}` },
        },
      ],
      action: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] },
        ...(o.act ? [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'correct' }] }] : []),
      ],
      class: o.classes.map((code) => ({ system: 'http://hl7.org/fhir/resource-types', code })),
    },
  };
}

export async function buildWorld(): Promise<World> {
  const server = await startAccountsServer();
  const create = (r: Record<string, unknown>) => createWith(server, r);
  const clinic = await create({ resourceType: 'Organization', name: 'Matrix Clinic', active: true });
  const practitioner = await create({ resourceType: 'Practitioner', name: [{ given: ['Chloe'], family: 'Matrix' }] });
  await create({ resourceType: 'PractitionerRole', practitioner: { reference: `Practitioner/${practitioner}` }, organization: { reference: `Organization/${clinic}` }, active: true });
  const managed = async (p: TestPatient) => {
    const res = await tools(server, 'GET', `Patient/${p.id}`);
    const patient = (await res.json()) as Record<string, unknown>;
    await tools(server, 'PUT', `Patient/${p.id}`, { ...patient, managingOrganization: { reference: `Organization/${clinic}` } });
  };
  const person = async (o: Parameters<typeof createPatient>[1]): Promise<Person> => {
    const p = await createPatient(server, o);
    await managed(p);
    return { ...p, own: await recordOf(server, p.id, practitioner) };
  };
  const alice = await person({ given: 'Alice', birthDate: '1980-04-02' });
  const bob = await person({ given: 'Bob', birthDate: '1975-09-30' });
  const teenBirth = `${new Date().getUTCFullYear() - 15}-01-15`;
  const teen = await person({ given: 'Tess', birthDate: teenBirth });

  const aliceUnreleased = await create({
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: 'imaging' }] }],
    code: { text: 'Chest X-ray report' },
    subject: { reference: `Patient/${alice.id}` },
    issued: isoDaysFromNow(-1 / 24),
    valueString: 'No acute findings',
  });
  const aliceVitals = await create({
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: 'Heart rate' },
    subject: { reference: `Patient/${alice.id}` },
    effectiveDateTime: isoDaysFromNow(-3),
    valueQuantity: { value: 72, unit: '/min' },
  });
  const teenSensitive = await create({
    resourceType: 'Condition',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '35489007' }], text: 'Depressive disorder' },
    subject: { reference: `Patient/${teen.id}` },
  });
  const teenOrdinary = teen.own.Condition;

  const related = (patient: string, given: string, email: string, parent = false) =>
    create({
      resourceType: 'RelatedPerson',
      patient: { reference: `Patient/${patient}` },
      active: true,
      ...(parent ? { relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }] } : {}),
      name: [{ given: [given], family: 'Proxy', text: `${given} Proxy` }],
      telecom: [{ system: 'email', value: email }],
    });
  const proxies = {} as Record<ProxyKey, string>;
  for (const [key, given] of Object.entries({ results: 'Rita', record: 'Reed', medications: 'Meg', appointments: 'Abby', messages: 'Mel', billing: 'Bill' })) {
    const cls = key as ProxyClass;
    proxies[cls] = await related(alice.id, given, uniqueEmail(key));
    await create(proxyConsent(alice.id, proxies[cls], { classes: [...PROXY_CLASSES[cls]], act: CLASS_PROXIES[cls].act }));
  }
  proxies.all = await related(alice.id, 'Abe', uniqueEmail('all'));
  proxies.ended = await related(alice.id, 'Enid', uniqueEmail('ended'));
  proxies.revoked = await related(alice.id, 'Rex', uniqueEmail('revoked'));
  proxies.parent = await related(teen.id, 'Mona', uniqueEmail('parent'), true);
  alice.own.Consent = await create(proxyConsent(alice.id, proxies.all, { classes: CLASSES, act: true }));
  await create(proxyConsent(alice.id, proxies.ended, { classes: CLASSES, act: true, end: dayFromNow(-2) }));
  await create(proxyConsent(alice.id, proxies.revoked, { classes: CLASSES, act: true, status: 'inactive' }));
  teen.own.Consent = await create(proxyConsent(teen.id, proxies.parent, { classes: CLASSES, act: true, performer: `RelatedPerson/${proxies.parent}` }));
  bob.own.Consent = await create(proxyConsent(bob.id, await related(bob.id, 'Zed', uniqueEmail('zed')), { classes: CLASSES, act: false }));

  // Tokens, as a SMART app gets them.
  const people = new People(server);
  const app = await registerApp(server, { name: 'Matrix app' });
  const patientScopes = ['launch/patient', ...TYPES.map((t) => `patient/${t}.cruds`)];
  const tokens: Record<string, string> = {};
  tokens.patient = (await people.patientToken(alice, patientScopes, app)).token;
  const labApp = await registerApp(server, { name: 'Lab-only app' });
  tokens['patient, lab results only'] = (await people.patientToken(alice, ['launch/patient', `patient/Observation.rs?category=${LAB}`], labApp)).token;
  for (const [key, relatedPerson] of Object.entries(proxies)) tokens[`proxy ${key}`] = (await people.proxyToken(relatedPerson, patientScopes, app)).token;
  const staffApp = await registerApp(server, { name: 'Clinic app' });
  tokens.clinician = (await people.staffToken(practitioner, TYPES.map((t) => `user/${t}.cruds`), staffApp)).token;
  tokens.admin = (await people.adminToken(TYPES.map((t) => `user/${t}.rs`), staffApp)).token;
  const wide = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/*.cruds', name: 'Integrator (wide)' });
  const narrow = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/Observation.rs', name: 'Integrator (narrow)' });
  const systemToken = async (credentials: typeof wide, scope: string) =>
    (await oidc.clientCredentialsGrant(await backendConfiguration(server.baseUrl, credentials), { scope })).access_token;
  tokens['system, wide'] = await systemToken(wide, 'system/*.cruds');
  tokens['system, Observation only'] = await systemToken(narrow, 'system/Observation.rs');

  // An entry of the audit trail about Alice (her record was written and read above): the trail is
  // written in batches, so it may take a moment to appear.
  for (let attempt = 0; !alice.own.AuditEvent; attempt++) {
    const res = await tools(server, 'GET', `AuditEvent?patient=Patient/${alice.id}&_count=1`);
    const bundle = (await res.json()) as { entry?: Array<{ resource: { id: string } }> };
    if (bundle.entry?.length) alice.own.AuditEvent = bundle.entry[0].resource.id;
    else if (attempt > 50) throw new Error('no AuditEvent about Alice appeared');
    else await new Promise((r) => setTimeout(r, 100));
  }

  return {
    server,
    clinic,
    practitioner,
    alice,
    bob,
    teen,
    aliceUnreleased,
    aliceVitals,
    teenSensitive,
    teenOrdinary,
    proxies,
    tokens,
    system: (scope) => systemToken(wide, scope),
    create,
  };
}
