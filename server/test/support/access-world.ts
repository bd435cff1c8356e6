// A clinic with people in every role, their records, and tokens obtained as real apps obtain them
// (accounts through the enrolment flows, sign-in through the pages, tokens from the token
// endpoint with openid-client; backend services with their own keys): the world the access
// matrix and leak tests run in.
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { createStaffAccount, inviteProxy } from '../../src/auth/accounts/enrolment.ts';
import {
  browserFor,
  createPatient,
  linkIn,
  mailTo,
  registerApp,
  registerPatient,
  startAccountsServer,
  totpNow,
  totpSecretOn,
  type AccountsServer,
  type TestPatient,
} from './accounts.ts';
import type { PageBrowser } from './page-browser.ts';
import { launch } from './smart-sign-in.ts';
import { backendConfiguration, registerBackendClient } from './test-auth.ts';

export const TYPES = ['Patient', 'Observation', 'Condition', 'Appointment', 'MedicationRequest', 'Communication', 'Invoice', 'Consent', 'Practitioner'] as const;
export type MatrixType = (typeof TYPES)[number];

export const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CLASSES = ['Patient', 'Observation', 'DiagnosticReport', 'Condition', 'AllergyIntolerance', 'MedicationRequest', 'Immunization', 'Encounter', 'Appointment', 'Communication', 'Invoice'];

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
  proxies: { results: string; all: string; ended: string; revoked: string; parent: string };
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

/** A proxy account through the invitation the patient's clinic sends. */
async function proxyBrowser(server: AccountsServer, relatedPerson: string, email: string): Promise<PageBrowser> {
  await inviteProxy(server.running.accounts, relatedPerson, undefined);
  const b = browserFor(server);
  const accept = await b.visit(linkIn((await mailTo(server, email)).text));
  const done = await b.submit(accept, '/account/register/proxy', { email, password: 'kite harbor violin maple' });
  if (done.status !== 303) throw new Error(`proxy registration failed: ${done.status} ${done.text.slice(0, 500)}`);
  return b;
}

/** A staff or admin account through its set-password link and authenticator set-up. */
async function staffBrowser(server: AccountsServer, role: 'staff' | 'admin', practitioner?: string): Promise<PageBrowser> {
  const email = `${role}.${randomUUID().slice(0, 8)}@example.org`;
  await createStaffAccount(server.running.accounts, { email, role, ...(practitioner ? { practitioner: `Practitioner/${practitioner}` } : {}) });
  const b = browserFor(server);
  const setPage = await b.visit(linkIn((await mailTo(server, email)).text));
  await b.submit(setPage, '/account/reset', { password: 'clinic night shift kettle' });
  const setup = await b.follow(await b.submit(await b.visit('/account/sign-in'), '/account/sign-in', { email, password: 'clinic night shift kettle' }));
  const codes = await b.follow(await b.submit(setup, '/account/totp-setup', { code: await totpNow(totpSecretOn(setup)) }));
  await b.follow(await b.submit(codes, '/account/recovery-codes'));
  return b;
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
  const emails = Object.fromEntries(['results', 'all', 'ended', 'revoked', 'parent'].map((k) => [k, `${k}.${randomUUID().slice(0, 8)}@example.org`]));
  const proxies = {
    results: await related(alice.id, 'Rita', emails.results),
    all: await related(alice.id, 'Abe', emails.all),
    ended: await related(alice.id, 'Enid', emails.ended),
    revoked: await related(alice.id, 'Rex', emails.revoked),
    parent: await related(teen.id, 'Mona', emails.parent, true),
  };
  await create(proxyConsent(alice.id, proxies.results, { classes: ['Observation', 'DiagnosticReport'], act: false }));
  alice.own.Consent = await create(proxyConsent(alice.id, proxies.all, { classes: CLASSES, act: true }));
  await create(proxyConsent(alice.id, proxies.ended, { classes: CLASSES, act: true, end: dayFromNow(-2) }));
  await create(proxyConsent(alice.id, proxies.revoked, { classes: CLASSES, act: true, status: 'inactive' }));
  teen.own.Consent = await create(proxyConsent(teen.id, proxies.parent, { classes: CLASSES, act: true, performer: `RelatedPerson/${proxies.parent}` }));
  bob.own.Consent = await create(proxyConsent(bob.id, await related(bob.id, 'Zed', `zed.${randomUUID().slice(0, 8)}@example.org`), { classes: CLASSES, act: false }));

  // Tokens, as a SMART app gets them.
  const app = await registerApp(server, { name: 'Matrix app' });
  const patientScopes = ['launch/patient', ...TYPES.map((t) => `patient/${t}.cruds`)];
  const tokens: Record<string, string> = {};
  const { browser: aliceBrowser } = await registerPatient(server, alice);
  tokens.patient = await launch(server, aliceBrowser, app, patientScopes);
  const labApp = await registerApp(server, { name: 'Lab-only app' });
  tokens['patient, lab results only'] = await launch(server, aliceBrowser, labApp, ['launch/patient', `patient/Observation.rs?category=${LAB}`]);
  for (const [key, email] of Object.entries(emails)) {
    const id = proxies[key as keyof typeof proxies];
    const b = await proxyBrowser(server, id, email);
    const patient = key === 'parent' ? teen.id : alice.id;
    tokens[`proxy ${key}`] = await launch(server, b, app, patientScopes, patient);
  }
  const staffApp = await registerApp(server, { name: 'Clinic app' });
  tokens.clinician = await launch(server, await staffBrowser(server, 'staff', practitioner), staffApp, TYPES.map((t) => `user/${t}.cruds`));
  tokens.admin = await launch(server, await staffBrowser(server, 'admin'), staffApp, ['user/AuditEvent.rs', ...TYPES.map((t) => `user/${t}.rs`)]);
  const wide = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/*.cruds', name: 'Integrator (wide)' });
  const narrow = await registerBackendClient(server.running.auth.services.clients, { scope: 'system/Observation.rs', name: 'Integrator (narrow)' });
  const systemToken = async (credentials: typeof wide, scope: string) =>
    (await oidc.clientCredentialsGrant(await backendConfiguration(server.baseUrl, credentials), { scope })).access_token;
  tokens['system, wide'] = await systemToken(wide, 'system/*.cruds');
  tokens['system, Observation only'] = await systemToken(narrow, 'system/Observation.rs');

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
