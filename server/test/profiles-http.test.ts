// Profiles through the REST API: a create that violates a claimed profile is a 422 with a located
// OperationOutcome and stores nothing; a structural error is a 400; a conforming resource is
// created; $validate reports profile issues without storing; the CapabilityStatement lists the
// profiles; a server with REQUIRE_PROFILES rejects non-conforming central resources.
import { expect } from 'chai';
import type { Bundle, CapabilityStatement, OperationOutcome } from 'fhir/r4';
import { createLogger } from '../src/logger.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { PORTAL_PROFILES, US_CORE_PROFILES } from '../src/fhir/validate/index.ts';
import { patientStatement, portalAppointment, proxyConsent } from './fixtures/profile-examples.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';
import { startTestServerWith, testConfig, testServer } from './support/test-server.ts';

describe('profiles over HTTP', () => {
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  const count = async (type: string) => (await fhirFetch<Bundle>(`${fhirUrl}/${type}/_history?_count=0`)).body.total!;

  it('creates a resource that conforms to its claimed profile', async () => {
    const res = await fhirFetch(`${fhirUrl}/Consent`, { method: 'POST', body: proxyConsent() });
    expect(res.status, res.text).to.equal(201);
  });

  it('answers 422 with a located issue for a profile violation, and stores nothing', async () => {
    const before = await count('Invoice');
    const res = await fhirFetch<OperationOutcome>(`${fhirUrl}/Invoice`, { method: 'POST', body: { ...patientStatement(), status: 'draft' } });
    expect(res.status, res.text).to.equal(422);
    expect(res.body.issue.some((i) => i.code === 'code-invalid' && i.expression?.includes('Invoice.status'))).to.equal(true);
    expect(await count('Invoice')).to.equal(before);
  });

  it('answers 400 for a structural error even when a profile is claimed', async () => {
    const res = await fhirFetch<OperationOutcome>(`${fhirUrl}/Appointment`, { method: 'POST', body: { ...portalAppointment(), created: 'June' } });
    expect(res.status, res.text).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['Appointment.created']);
  });

  it('$validate reports profile violations without storing', async () => {
    const before = await count('Appointment');
    const res = await fhirFetch<OperationOutcome>(`${fhirUrl}/Appointment/$validate`, { method: 'POST', body: { ...portalAppointment(), status: 'cancelled' } });
    expect(res.status, res.text).to.equal(200);
    expect(diagnosticsOf(res)).to.match(/pappt-3/);
    expect(await count('Appointment')).to.equal(before);
  });

  it('lists our profiles in the CapabilityStatement', async () => {
    const res = await fhirFetch<CapabilityStatement>(`${fhirUrl}/metadata`);
    const resources = res.body.rest?.[0].resource ?? [];
    const profilesOf = (type: string) => resources.find((r) => r.type === type)?.supportedProfile ?? [];
    expect(profilesOf('Appointment')).to.include(PORTAL_PROFILES.appointment);
    expect(profilesOf('Patient')).to.include(US_CORE_PROFILES.patient);
  });
});

describe('a server with REQUIRE_PROFILES', () => {
  let running: RunningServer;
  let fhirUrl: string;
  before(async () => {
    const config = await testConfig({ requireProfiles: true });
    running = await startTestServerWith(config);
    fhirUrl = `${config.baseUrl}/fhir`;
  });
  after(async () => {
    await running?.close();
  });

  it('rejects a Patient that does not conform to US Core (422)', async () => {
    const res = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Rivera' }] } });
    expect(res.status, res.text).to.equal(422);
    expect(diagnosticsOf(res)).to.match(/must conform to one of/);
  });

  it('accepts an Appointment that conforms to portal-appointment without claiming it', async () => {
    const a = portalAppointment();
    delete a.meta;
    const res = await fhirFetch(`${fhirUrl}/Appointment`, { method: 'POST', body: a });
    expect(res.status, res.text).to.equal(201);
  });
});
