// Conditional creates racing each other: exactly one resource is made, the others answer 200 with it.
// See: https://hl7.org/fhir/R4/http.html#ccreate
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Bundle, Patient } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';

const MRN = 'https://health-records.dev/fhir/sid/mrn';

describe('conditional writes under concurrency', function () {
  this.timeout(120_000);
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  const patient = (mrn: string): Patient => ({ resourceType: 'Patient', identifier: [{ system: MRN, value: mrn }], gender: 'female' });

  async function matches(mrn: string): Promise<string[]> {
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient?identifier=${encodeURIComponent(`${MRN}|${mrn}`)}&_count=100`);
    return (res.body.entry ?? []).map((e) => e.resource!.id!);
  }

  for (let round = 1; round <= 3; round++) {
    it(`20 parallel POSTs with the same If-None-Exist create exactly one resource (round ${round})`, async () => {
      const mrn = `race-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          fhirFetch<Patient>(`${fhirUrl}/Patient`, {
            method: 'POST',
            body: patient(mrn),
            headers: { 'if-none-exist': `identifier=${MRN}|${mrn}` },
          }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201), 'created').to.have.length(1);
      expect(statuses.filter((s) => s === 200), 'found the one created').to.have.length(19);
      const ids = new Set(results.map((r) => r.headers.get('location')?.split('/')[5]));
      expect(ids.size, 'every answer names the same resource').to.equal(1);
      expect(await matches(mrn)).to.have.length(1);
      // A later conditional request on the identifier finds the one resource (no 412).
      const again = await fhirFetch(`${fhirUrl}/Patient`, {
        method: 'POST',
        body: patient(mrn),
        headers: { 'if-none-exist': `identifier=${MRN}|${mrn}` },
      });
      expect(again.status).to.equal(200);
    });
  }

  it('20 parallel conditional PUTs that create make exactly one resource; the others update it', async () => {
    const mrn = `race-put-${randomUUID()}`;
    const url = `${fhirUrl}/Patient?identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => fhirFetch<Patient>(url, { method: 'PUT', body: patient(mrn) })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201), 'created').to.have.length(1);
    expect(statuses.filter((s) => s === 200), 'updated the one created').to.have.length(19);
    const found = await matches(mrn);
    expect(found).to.have.length(1);
    const current = await fhirFetch<Patient>(`${fhirUrl}/Patient/${found[0]}`);
    expect(current.body.meta?.versionId).to.equal('20');
  });

  it('parallel transactions with the same conditional create make one resource', async () => {
    const mrn = `race-tx-${randomUUID()}`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: patient(mrn), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${MRN}|${mrn}` } }],
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => fhirFetch<Bundle>(fhirUrl, { method: 'POST', body: bundle })));
    expect(results.map((r) => r.status)).to.deep.equal(Array(10).fill(200));
    const statuses = results.map((r) => r.body.entry![0].response!.status);
    expect(statuses.filter((s) => s.startsWith('201'))).to.have.length(1);
    expect(statuses.filter((s) => s.startsWith('200'))).to.have.length(9);
    expect(await matches(mrn)).to.have.length(1);
  });

  it('a transaction with two entries with the same fullUrl is refused with 400', async () => {
    const fullUrl = `urn:uuid:${randomUUID()}`;
    const res = await fhirFetch(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl, resource: { resourceType: 'Patient', gender: 'male' }, request: { method: 'POST', url: 'Patient' } },
          { fullUrl, resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: fullUrl } }, request: { method: 'POST', url: 'Observation' } },
        ],
      },
    });
    expect(res.status).to.equal(400);
    expect(diagnosticsOf(res)).to.match(/fullUrl/);
    expect(diagnosticsOf(res)).to.include(fullUrl);
  });
});
