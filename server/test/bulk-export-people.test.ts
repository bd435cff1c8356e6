// Bulk Data export is for backend services: a patient's, a clinician's or an admin's token (from a
// real sign-in and launch) is refused at every level with 403 and an OperationOutcome, and starts
// no job.
import { expect } from 'chai';
import type { OperationOutcome } from 'fhir/r4';
import { createPatient, startAccountsServer, type AccountsServer } from './support/accounts.ts';
import { People } from './support/people.ts';
import { fhirFetch } from './support/http.ts';

describe('Bulk Data export: people\'s tokens', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  let people: People;
  before(async () => {
    server = await startAccountsServer();
    people = new People(server);
  });
  after(async () => {
    await server?.close();
  });

  it('refuses $export at system, Patient and Group level to a patient, a clinician and an admin', async () => {
    const patient = await createPatient(server);
    const practitioner = await fhirFetch<{ id: string }>(`${server.fhirUrl}/Practitioner`, { method: 'POST', body: { resourceType: 'Practitioner', name: [{ family: 'Exporter' }] } });
    const group = await fhirFetch<{ id: string }>(`${server.fhirUrl}/Group`, {
      method: 'POST',
      body: { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${patient.id}` } }] },
    });
    expect(group.status).to.equal(201);
    const tokens = {
      patient: (await people.patientToken(patient, ['launch/patient', 'patient/*.rs'])).token,
      clinician: (await people.staffToken(practitioner.body.id, ['user/*.rs'])).token,
      admin: (await people.adminToken(['user/*.rs'])).token,
    };
    for (const [who, token] of Object.entries(tokens)) {
      for (const path of ['$export', 'Patient/$export', `Group/${group.body.id}/$export`]) {
        const res = await fetch(`${server.fhirUrl}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async' } });
        expect(res.status, `${who} ${path}`).to.equal(403);
        expect(res.headers.get('content-location'), `${who} ${path}`).to.equal(null);
        expect(((await res.json()) as OperationOutcome).resourceType).to.equal('OperationOutcome');
      }
    }
  });
});
