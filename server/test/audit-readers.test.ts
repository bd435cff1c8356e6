// Who reads the audit trail: admins all of it; a patient (and a proxy granted the record) the part
// about their own record — "who accessed my record": which person, with which app, looked at what
// and when. Also the authorization server's events (tokens issued, refused, revoked) and sign-ins.
//
// Patient, proxy, staff and admin tokens come from support/user-tokens.ts (made in the server's
// token store; to be replaced by tokens from the sign-in pages when they land).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import type { AuditEvent, Bundle, Observation, Patient } from 'fhir/r4';
import { testServer, type TestServer } from './support/test-server.ts';
import { backendConfiguration, registerBackendClient } from './support/test-auth.ts';
import { fhirFetch } from './support/http.ts';
import { userToken } from './support/user-tokens.ts';
import { auditEvents, clientOf, eventsOfRequest, patientsIn, personOf, referencesIn, requestId, subtypeCodes } from './support/audit.ts';
import { AUDIT_SUBTYPE_SYSTEM } from '../src/audit/audit-event-builder.ts';
import { accountAuditEvents } from '../src/audit/account-events.ts';

describe('Audit trail: who reads it, and what the authorization server records', function () {
  this.timeout(60_000);
  let server: TestServer;
  let fhirUrl: string;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const post = async <T>(type: string, body: object): Promise<T> => {
    const res = await fhirFetch<T>(`${fhirUrl}/${type}`, { method: 'POST', body });
    if (res.status !== 201) throw new Error(`creating ${type}: ${res.status} ${res.text}`);
    return res.body;
  };

  /** A patient of an organization, a clinician of it, and an Observation of the patient. */
  let org: string;
  let patient: Patient;
  let other: Patient;
  let observation: Observation;
  let practitioner: string;
  before(async () => {
    server = await testServer();
    fhirUrl = server.fhirUrl;
    org = (await post<{ id: string }>('Organization', { resourceType: 'Organization', name: `Clinic ${randomUUID()}` })).id;
    patient = await post<Patient>('Patient', { resourceType: 'Patient', name: [{ family: 'Audited' }], birthDate: '1970-01-01', managingOrganization: { reference: `Organization/${org}` } });
    other = await post<Patient>('Patient', { resourceType: 'Patient', name: [{ family: 'Someoneelse' }], birthDate: '1971-01-01' });
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
  });

  const patientToken = (id: string) => userToken(server.running, { role: 'patient', fhirUser: `Patient/${id}`, patient: id, scope: 'launch/patient patient/*.rs' });

  it('lets a patient see who looked at their record: the clinician, the app and the resource, and nothing about anyone else', async () => {
    const ehr = await server.running.auth.services.clients.create({ name: 'Clinic EHR', type: 'public', redirectUris: ['https://ehr.example.org/cb'] });
    const staff = await userToken(server.running, { role: 'staff', fhirUser: `Practitioner/${practitioner}`, scope: 'user/*.rs', clientId: ehr.clientId });
    const rid = requestId('clinician');
    const read = await fhirFetch(`${fhirUrl}/Observation/${observation.id}`, { headers: { ...bearer(staff.token), 'x-request-id': rid } });
    expect(read.status).to.equal(200);
    await fhirFetch(`${fhirUrl}/Patient/${other.id}`); // someone else's record, read by the test run's client
    await eventsOfRequest(fhirUrl, rid); // written

    const mine = await patientToken(patient.id!);
    const trail = await auditEvents(fhirUrl, '_sort=-date', { headers: bearer(mine.token) });
    expect(trail.length).to.be.greaterThan(0);
    for (const e of trail) expect(patientsIn(e), 'every event is about this patient').to.deep.equal([patient.id]);
    const look = trail.find((e) => e.entity?.some((x) => x.what?.identifier?.value === rid))!;
    expect(look, 'the clinician\'s read').to.not.equal(undefined);
    expect(personOf(look)).to.equal(`Practitioner/${practitioner}`);
    expect(look.agent.find((a) => a.who?.identifier?.value === ehr.clientId)?.who?.display).to.equal('Clinic EHR');
    expect(referencesIn(look)).to.deep.equal([`Observation/${observation.id}`]);
    expect(subtypeCodes(look)).to.deep.equal(['read']);

    const theirs = await auditEvents(fhirUrl, `patient=${other.id}`, { headers: bearer(mine.token), waitMs: 0 });
    expect(theirs, 'another patient\'s part of the trail').to.deep.equal([]);
    const [otherEvent] = await auditEvents(fhirUrl, `patient=${other.id}`);
    expect((await fhirFetch(`${fhirUrl}/AuditEvent/${otherEvent.id}`, { headers: bearer(mine.token) })).status).to.equal(404);
  });

  it('records a patient\'s own reads under their own name', async () => {
    const mine = await patientToken(patient.id!);
    const rid = requestId('self');
    expect((await fhirFetch(`${fhirUrl}/Observation/${observation.id}`, { headers: { ...bearer(mine.token), 'x-request-id': rid } })).status).to.equal(200);
    const [event] = await eventsOfRequest(fhirUrl, rid);
    expect(personOf(event)).to.equal(`Patient/${patient.id}`);
    expect(event.agent.find((a) => a.altId)?.altId).to.equal(mine.accountId);
    expect(clientOf(event)).to.equal('patient-portal');
  });

  it('lets an admin read the whole trail, and nothing of the patients\' records', async () => {
    const admin = await userToken(server.running, { role: 'admin', scope: 'user/AuditEvent.rs user/Patient.rs' });
    const [aboutOther] = await auditEvents(fhirUrl, `patient=${other.id}`);
    const seen = await fhirFetch<AuditEvent>(`${fhirUrl}/AuditEvent/${aboutOther.id}`, { headers: bearer(admin.token) });
    expect(seen.status).to.equal(200);
    const both = await auditEvents(fhirUrl, `patient=${patient.id},${other.id}`, { headers: bearer(admin.token) });
    expect(new Set(both.flatMap(patientsIn))).to.deep.equal(new Set([patient.id, other.id]));
    expect((await fhirFetch(`${fhirUrl}/Patient/${other.id}`, { headers: bearer(admin.token) })).status).to.equal(404);
  });

  describe('proxies', () => {
    const RECORD = ['Patient', 'Condition', 'AllergyIntolerance', 'Immunization', 'Encounter'];
    async function proxyToken(o: { birthDate: string; classes: string[]; parent: boolean }) {
      const child = await post<Patient>('Patient', { resourceType: 'Patient', name: [{ family: 'Cared' }], birthDate: o.birthDate });
      await fhirFetch(`${fhirUrl}/Patient/${child.id}`); // something in the child's part of the trail
      const rel = await post<{ id: string }>('RelatedPerson', {
        resourceType: 'RelatedPerson',
        patient: { reference: `Patient/${child.id}` },
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
      const proxy = await userToken(server.running, {
        role: 'proxy',
        fhirUser: `RelatedPerson/${rel.id}`,
        proxyFor: [{ relatedPerson: rel.id, patient: child.id! }],
        patient: child.id,
        scope: 'launch/patient patient/*.rs',
      });
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

    it('records sign-ins the accounts report, in the patient\'s part of the trail', async () => {
      const mine = await patientToken(patient.id!);
      // What the sign-in pages' SecurityEvents call (auth/accounts, another branch) once wired.
      await accountAuditEvents(server.running.services.audit).record({ type: 'sign-in', accountId: mine.accountId, address: '203.0.113.9', method: 'password' });
      await accountAuditEvents(server.running.services.audit).record({ type: 'sign-in-failed', address: '203.0.113.66', reason: 'unknown username' });
      const events = await auditEvents(fhirUrl, `subtype=${encodeURIComponent('http://dicom.nema.org/resources/ontology/DCM|110122')}&address=203.0.113.9`);
      expect(events).to.have.length(1);
      expect(personOf(events[0])).to.equal(`Patient/${patient.id}`);
      const own = await auditEvents(fhirUrl, `subtype=${encodeURIComponent(`${AUDIT_SUBTYPE_SYSTEM}|sign-in`)}`, { headers: bearer(mine.token) });
      expect(own.map((e) => e.id)).to.include(events[0].id);
      const [failed] = await auditEvents(fhirUrl, `address=203.0.113.66`);
      expect(failed.outcome).to.equal('4');
      expect(failed.agent[0].who?.display).to.equal('unknown account');
    });
  });

  it('answers an AuditEvent search with the same Bundle shape to everyone (an empty part is an empty Bundle)', async () => {
    const mine = await patientToken(other.id!);
    const res = await fhirFetch<Bundle>(`${fhirUrl}/AuditEvent?patient=${patient.id}`, { headers: bearer(mine.token) });
    expect(res.status).to.equal(200);
    expect(res.body.entry ?? []).to.deep.equal([]);
  });
});
