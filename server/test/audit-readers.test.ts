// Who reads the audit trail: admins all of it; a patient (and a proxy granted the record) the part
// about their own record — "who accessed my record": which person, with which app, looked at what
// and when; staff none of it. Also the authorization server's events (tokens issued, refused,
// revoked) and sign-ins.
//
// People's tokens are obtained as a real app obtains them (support/people.ts): accounts through
// the enrolment pages, sign-in, a SMART launch and the token endpoint. Data is made with the
// server's tools client.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import type { AuditEvent, Bundle, Observation, Patient } from 'fhir/r4';
import { createPatient, PATIENT_PASSWORD, startAccountsServer, uniqueEmail, type AccountsServer, type TestApp, type TestPatient } from './support/accounts.ts';
import { People, type PersonToken } from './support/people.ts';
import { PageBrowser } from './support/page-browser.ts';
import { backendConfiguration, registerBackendClient } from './support/test-auth.ts';
import { fhirFetch } from './support/http.ts';
import { auditEvents, clientOf, eventsOfRequest, patientsIn, personOf, referencesIn, requestId, subtypeCodes } from './support/audit.ts';
import { AUDIT_SUBTYPE_SYSTEM } from '../src/audit/audit-event-builder.ts';

describe('Audit trail: who reads it, and what the authorization server records', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  let people: People;
  let fhirUrl: string;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const post = async <T>(type: string, body: object): Promise<T> => {
    const res = await fhirFetch<T>(`${fhirUrl}/${type}`, { method: 'POST', body });
    if (res.status !== 201) throw new Error(`creating ${type}: ${res.status} ${res.text}`);
    return res.body;
  };

  /**
   * A patient of an organization, a clinician of it, and an Observation of the patient; the
   * patient's token and the clinician's (through the clinic's EHR app), used by several tests.
   */
  let org: string;
  let patient: TestPatient;
  let other: TestPatient;
  let observation: Observation;
  let practitioner: string;
  let mine: PersonToken;
  let ehr: TestApp;
  let clinician: PersonToken;
  before(async () => {
    server = await startAccountsServer();
    people = new People(server);
    fhirUrl = server.fhirUrl;
    org = (await post<{ id: string }>('Organization', { resourceType: 'Organization', name: `Clinic ${randomUUID()}` })).id;
    patient = await createPatient(server, { family: 'Audited', birthDate: '1970-01-01', more: { managingOrganization: { reference: `Organization/${org}` } } });
    other = await createPatient(server, { family: 'Someoneelse', birthDate: '1971-01-01' });
    observation = await post<Observation>('Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { text: 'Body weight' },
      subject: { reference: `Patient/${patient.id}` },
      effectiveDateTime: '2024-01-01',
      issued: '2024-01-01T10:00:00Z',
    });
    practitioner = (await post<{ id: string }>('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Looker' }] })).id;
    await post('PractitionerRole', { resourceType: 'PractitionerRole', practitioner: { reference: `Practitioner/${practitioner}` }, organization: { reference: `Organization/${org}` } });
    mine = await people.patientToken(patient, ['launch/patient', 'patient/*.rs']);
    ehr = await people.app('Clinic EHR');
    clinician = await people.staffToken(practitioner, ['user/*.rs'], ehr);
  });
  after(async () => {
    await server?.close();
  });

  /**
   * The patients an event is about: its patient entities, and a patient who acted (the account
   * events of the patient's own sign-ins name the patient only as the agent).
   */
  const patientsConcerned = (e: AuditEvent): string[] => [
    ...new Set([...patientsIn(e), ...e.agent.flatMap((a) => (a.who?.reference?.startsWith('Patient/') ? [a.who.reference.slice('Patient/'.length)] : []))]),
  ];

  it('lets a patient see who looked at their record: the clinician, the app and the resource, and nothing about anyone else', async () => {
    const rid = requestId('clinician');
    const read = await fhirFetch(`${fhirUrl}/Observation/${observation.id}`, { headers: { ...bearer(clinician.token), 'x-request-id': rid } });
    expect(read.status).to.equal(200);
    await fhirFetch(`${fhirUrl}/Patient/${other.id}`); // someone else's record, read by the tools client
    await eventsOfRequest(fhirUrl, rid); // written

    const trail = await auditEvents(fhirUrl, '_sort=-date', { headers: bearer(mine.token) });
    expect(trail.length).to.be.greaterThan(0);
    for (const e of trail) expect(patientsConcerned(e), 'every event is about this patient').to.deep.equal([patient.id]);
    const look = trail.find((e) => e.entity?.some((x) => x.what?.identifier?.value === rid))!;
    expect(look, 'the clinician\'s read').to.not.equal(undefined);
    expect(personOf(look)).to.equal(`Practitioner/${practitioner}`);
    expect(look.agent.find((a) => a.altId)?.altId, 'the clinician\'s account').to.equal(clinician.accountId);
    expect(look.agent.find((a) => a.who?.identifier?.value === ehr.clientId)?.who?.display).to.equal('Clinic EHR');
    expect(referencesIn(look)).to.deep.equal([`Observation/${observation.id}`]);
    expect(subtypeCodes(look)).to.deep.equal(['read']);

    const theirs = await auditEvents(fhirUrl, `patient=${other.id}`, { headers: bearer(mine.token), waitMs: 0 });
    expect(theirs, 'another patient\'s part of the trail').to.deep.equal([]);
    const [otherEvent] = await auditEvents(fhirUrl, `patient=${other.id}`);
    expect((await fhirFetch(`${fhirUrl}/AuditEvent/${otherEvent.id}`, { headers: bearer(mine.token) })).status).to.equal(404);
  });

  it('records a patient\'s own reads under their own name, with their account and app', async () => {
    const rid = requestId('self');
    expect((await fhirFetch(`${fhirUrl}/Observation/${observation.id}`, { headers: { ...bearer(mine.token), 'x-request-id': rid } })).status).to.equal(200);
    const [event] = await eventsOfRequest(fhirUrl, rid);
    expect(personOf(event)).to.equal(`Patient/${patient.id}`);
    expect(event.agent.find((a) => a.altId)?.altId).to.equal(mine.accountId);
    expect(clientOf(event)).to.equal((await people.app()).clientId);
  });

  it('lets an admin read the whole trail, and nothing of the patients\' records', async () => {
    const admin = await people.adminToken(['user/AuditEvent.rs', 'user/Patient.rs']);
    const [aboutOther] = await auditEvents(fhirUrl, `patient=${other.id}`);
    const seen = await fhirFetch<AuditEvent>(`${fhirUrl}/AuditEvent/${aboutOther.id}`, { headers: bearer(admin.token) });
    expect(seen.status).to.equal(200);
    const both = await auditEvents(fhirUrl, `patient=${patient.id},${other.id}`, { headers: bearer(admin.token) });
    expect(new Set(both.flatMap(patientsIn))).to.deep.equal(new Set([patient.id, other.id]));
    expect((await fhirFetch(`${fhirUrl}/Patient/${other.id}`, { headers: bearer(admin.token) })).status).to.equal(404);
  });

  it('shows staff none of the trail, not even about their own clinic\'s patients: an empty searchset, and 404 for an event', async () => {
    // The clinician's token works, and reaches the patient's record.
    expect((await fhirFetch(`${fhirUrl}/Observation/${observation.id}`, { headers: bearer(clinician.token) })).status).to.equal(200);
    const [aboutPatient] = await auditEvents(fhirUrl, `patient=${patient.id}`);
    for (const query of ['', `?patient=${patient.id}`]) {
      const res = await fhirFetch<Bundle>(`${fhirUrl}/AuditEvent${query}`, { headers: bearer(clinician.token) });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.type).to.equal('searchset');
      expect(res.body.entry ?? [], `GET AuditEvent${query}`).to.deep.equal([]);
    }
    expect((await fhirFetch(`${fhirUrl}/AuditEvent/${aboutPatient.id}`, { headers: bearer(clinician.token) })).status).to.equal(404);
  });

  describe('proxies', () => {
    const RECORD = ['Patient', 'Condition', 'AllergyIntolerance', 'Immunization', 'Encounter'];
    async function proxyToken(o: { birthDate: string; classes: string[]; parent: boolean }) {
      const child = await post<Patient>('Patient', { resourceType: 'Patient', name: [{ family: 'Cared' }], birthDate: o.birthDate });
      await fhirFetch(`${fhirUrl}/Patient/${child.id}`); // something in the child's part of the trail
      const rel = await post<{ id: string }>('RelatedPerson', {
        resourceType: 'RelatedPerson',
        patient: { reference: `Patient/${child.id}` },
        telecom: [{ system: 'email', value: uniqueEmail('proxy') }],
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: o.parent ? 'MTH' : 'FRND' }] }],
      });
      await post('Consent', {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${child.id}` },
        dateTime: new Date().toISOString(),
        performer: [{ reference: `Patient/${child.id}` }],
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        provision: {
          type: 'permit',
          period: { start: '2020-01-01' },
          actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `RelatedPerson/${rel.id}` } }],
          action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
          class: o.classes.map((code) => ({ system: 'http://hl7.org/fhir/resource-types', code })),
        },
      });
      await auditEvents(fhirUrl, `patient=${child.id}`);
      // The proxy's account through the clinic's invitation, and a launch for the child's record.
      const proxy = await people.proxyToken(rel.id, ['launch/patient', 'patient/*.rs']);
      return { child: child.id!, token: proxy.token };
    }

    it('a proxy granted the record reads the part of the trail about the patient', async () => {
      const { child, token } = await proxyToken({ birthDate: '1950-05-05', classes: [...RECORD, 'Observation'], parent: false });
      const trail = await auditEvents(fhirUrl, '', { headers: bearer(token) });
      expect(trail.length).to.be.greaterThan(0);
      for (const e of trail) expect(patientsIn(e)).to.deep.equal([child]);
    });

    it('a proxy granted only results does not read the trail', async () => {
      const { token } = await proxyToken({ birthDate: '1950-05-05', classes: ['Observation', 'DiagnosticReport'], parent: false });
      expect(await auditEvents(fhirUrl, '', { headers: bearer(token), waitMs: 0 })).to.deep.equal([]);
    });

    it('the parent of a 15-year-old does not read the trail, even with the record granted', async () => {
      const fifteen = new Date(Date.now() - 15.5 * 365.25 * 86_400_000).toISOString().slice(0, 10);
      const { token } = await proxyToken({ birthDate: fifteen, classes: [...RECORD, 'Observation'], parent: true });
      expect(await auditEvents(fhirUrl, '', { headers: bearer(token), waitMs: 0 })).to.deep.equal([]);
    });
  });

  describe('the authorization server', () => {
    const bySubtype = (event: string, clientId: string) =>
      auditEvents(fhirUrl, `subtype=${encodeURIComponent(`${AUDIT_SUBTYPE_SYSTEM}|${event}`)}&agent:identifier=${encodeURIComponent(clientId)}`);

    it('records each access token issued, with the app, the grant and its scopes', async () => {
      const client = await registerBackendClient(server.running.auth.services.clients, { name: 'Token audit app', scope: 'system/Patient.rs' });
      const tokens = await oidc.clientCredentialsGrant(await backendConfiguration(server.baseUrl, client), { scope: 'system/Patient.rs' });
      const [event] = await bySubtype('token-issued', client.clientId);
      expect(event.outcome).to.equal('0');
      expect(event.agent[0].who?.display).to.equal('Token audit app');
      expect(event.agent[0].network?.address).to.match(/127\.0\.0\.1$/);
      const details = event.entity?.find((x) => x.role?.code === '13')?.description;
      expect(details).to.equal('grant_type=client_credentials scope=system/Patient.rs');
      expect(JSON.stringify(event)).not.to.include(tokens.access_token);
    });

    it('records a refused token request (failed client authentication)', async () => {
      const client = await registerBackendClient(server.running.auth.services.clients, { name: 'Impostor target' });
      const impostor = await registerBackendClient(server.running.auth.services.clients, { name: 'Impostor' });
      // Signed with another client's key: the token endpoint refuses it.
      const forged = await backendConfiguration(server.baseUrl, { ...impostor, clientId: client.clientId });
      await oidc.clientCredentialsGrant(forged, { scope: 'system/Patient.rs' }).then(
        () => expect.fail('the token request should have been refused'),
        () => undefined,
      );
      const [event] = await bySubtype('token-refused', client.clientId);
      expect(event.outcome).to.equal('4');
      expect(event.outcomeDesc).to.equal('invalid_client');
    });

    it('records a token revoked by its app', async () => {
      const client = await registerBackendClient(server.running.auth.services.clients, { name: 'Revoking app', scope: 'system/Patient.rs' });
      const config = await backendConfiguration(server.baseUrl, client);
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
      await oidc.tokenRevocation(config, tokens.access_token);
      expect((await fhirFetch(`${fhirUrl}/Patient?_count=1`, { headers: bearer(tokens.access_token) })).status).to.equal(401);
      const [event] = await bySubtype('token-revoked', client.clientId);
      expect(event.outcome).to.equal('0');
    });

    it('records a sign-in through the pages in the patient\'s part of the trail, and a failed one with an unknown email', async () => {
      // Addresses of their own (through the server's trusted proxy), to find exactly these events.
      const signIn = new PageBrowser(server.baseUrl, { 'x-forwarded-for': '192.0.2.9' });
      const done = await signIn.submit(await signIn.visit('/account/sign-in'), '/account/sign-in', { email: patient.email, password: PATIENT_PASSWORD });
      expect(done.status, done.text.slice(0, 300)).to.equal(303);
      const stranger = new PageBrowser(server.baseUrl, { 'x-forwarded-for': '192.0.2.66' });
      const refused = await stranger.submit(await stranger.visit('/account/sign-in'), '/account/sign-in', { email: uniqueEmail('nobody'), password: PATIENT_PASSWORD });
      expect(refused.status).to.equal(401);

      const events = await auditEvents(fhirUrl, `subtype=${encodeURIComponent('http://dicom.nema.org/resources/ontology/DCM|110122')}&address=192.0.2.9`);
      expect(events).to.have.length(1);
      expect(personOf(events[0])).to.equal(`Patient/${patient.id}`);
      expect(events[0].outcome).to.equal('0');
      const [failed, ...more] = await auditEvents(fhirUrl, 'address=192.0.2.66');
      expect(more).to.deep.equal([]);
      expect(failed.outcome).to.equal('4');
      expect(failed.agent[0].who?.display).to.equal('unknown account');

      // The patient finds their sign-in at the top of their own part of the trail.
      const own = await auditEvents(fhirUrl, '_sort=-date', { headers: bearer(mine.token) });
      const seen = own.find((e) => subtypeCodes(e).includes('sign-in') && e.agent.some((a) => a.network?.address === '192.0.2.9'));
      expect(seen?.id, 'the sign-in, in the patient\'s part').to.equal(events[0].id);
      expect(seen!.agent.find((a) => a.altId)?.altId).to.equal(mine.accountId);
      expect(own.map((e) => e.id), 'a sign-in of no account is in no patient\'s part').not.to.include(failed.id);
    });
  });

  it('records the address the clinic\'s proxy saw, not one the caller wrote before it or a value that is not an address', async () => {
    const addressOf = async (forwarded: string): Promise<string | undefined> => {
      const rid = requestId('address');
      const read = await fetch(`${fhirUrl}/Observation/${observation.id}`, { headers: { ...bearer(clinician.token), 'x-request-id': rid, 'x-forwarded-for': forwarded } });
      expect(read.status).to.equal(200);
      const [event] = await eventsOfRequest(fhirUrl, rid);
      return event.agent.find((a) => a.network?.type === '2')?.network?.address;
    };
    // The proxy appends what it saw: the last entry. The first is whatever the caller sent.
    expect(await addressOf('10.1.2.3, 192.0.2.123')).to.equal('192.0.2.123');
    expect(await addressOf('2001:db8::5')).to.equal('2001:db8::5');
    // Not an address (a proxy passing the header through untouched): the connection's own address.
    for (const junk of ['<script>alert(1)</script>', '192.0.2.5-spoofed', '$where', 'x'.repeat(300)]) {
      expect(await addressOf(junk), junk.slice(0, 30)).to.match(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    }
  });

  it('answers an AuditEvent search with the same Bundle shape to everyone (an empty part is an empty Bundle)', async () => {
    const theirs = await people.patientToken(other, ['launch/patient', 'patient/*.rs']);
    const res = await fhirFetch<Bundle>(`${fhirUrl}/AuditEvent?patient=${patient.id}`, { headers: bearer(theirs.token) });
    expect(res.status).to.equal(200);
    expect(res.body.type).to.equal('searchset');
    expect(res.body.entry ?? []).to.deep.equal([]);
  });
});
