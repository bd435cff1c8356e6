// Create, read, vread, update, delete over HTTP with a real FHIR client and plain fetch.
import { expect } from 'chai';
import { FhirTestClient as Client } from './support/fhir-client.ts';
import type { Observation, OperationOutcome, Patient } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';
import { authorizationFor } from './support/test-auth.ts';

describe('FHIR REST: create, read, update, delete', () => {
  let fhirUrl: string;
  let client: Client;

  before(async () => {
    ({ fhirUrl } = await testServer());
    client = new Client(fhirUrl);
  });

  const newPatient = (family: string): Patient => ({
    resourceType: 'Patient',
    name: [{ family, given: ['Ann'] }],
    birthDate: '1980-02-03',
    gender: 'female',
  });

  it('creates a resource with a server-assigned id, version 1, Location, ETag and Last-Modified', async () => {
    const res = await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { ...newPatient('Create'), id: 'client-chosen' },
    });
    expect(res.status).to.equal(201);
    const p = res.body;
    expect(p.id).to.be.a('string').and.not.equal('client-chosen');
    expect(p.meta?.versionId).to.equal('1');
    expect(Date.parse(p.meta!.lastUpdated!)).to.be.closeTo(Date.now(), 60_000);
    expect(res.headers.get('location')).to.equal(`${fhirUrl}/Patient/${p.id}/_history/1`);
    expect(res.headers.get('etag')).to.equal('W/"1"');
    expect(res.headers.get('last-modified')).to.equal(new Date(p.meta!.lastUpdated!).toUTCString());
    expect(res.headers.get('content-type')).to.match(/^application\/fhir\+json/);
  });

  it('reads back what fhir-kit-client created, and vreads each version', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: newPatient('Reader') })) as Patient;
    const read = (await client.read({ resourceType: 'Patient', id: created.id! })) as Patient;
    expect(read).to.deep.equal(created);
    const updated = (await client.update({
      resourceType: 'Patient',
      id: created.id!,
      body: { ...read, name: [{ family: 'Reader', given: ['Beth'] }] },
    })) as Patient;
    expect(updated.meta?.versionId).to.equal('2');
    const v1 = (await client.vread({ resourceType: 'Patient', id: created.id!, version: '1' })) as Patient;
    const v2 = (await client.vread({ resourceType: 'Patient', id: created.id!, version: '2' })) as Patient;
    expect(v1.name?.[0].given).to.deep.equal(['Ann']);
    expect(v2.name?.[0].given).to.deep.equal(['Beth']);
    const missing = await fhirFetch(`${fhirUrl}/Patient/${created.id}/_history/9`);
    expect(missing.status).to.equal(404);
  });

  it('keeps client meta (profile, tags) but owns versionId and lastUpdated', async () => {
    const res = await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: {
        ...newPatient('Meta'),
        meta: { versionId: '77', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: 'urn:t', code: 'x' }] },
      },
    });
    expect(res.body.meta?.versionId).to.equal('1');
    expect(res.body.meta?.lastUpdated).to.not.equal('2001-01-01T00:00:00Z');
    expect(res.body.meta?.tag).to.deep.equal([{ system: 'urn:t', code: 'x' }]);
  });

  it('update-as-create with a client id answers 201, then 200 for the next update', async () => {
    const id = `client-${Date.now()}`;
    const first = await fhirFetch<Patient>(`${fhirUrl}/Patient/${id}`, { method: 'PUT', body: { ...newPatient('Put'), id } });
    expect(first.status).to.equal(201);
    expect(first.body.id).to.equal(id);
    expect(first.headers.get('location')).to.equal(`${fhirUrl}/Patient/${id}/_history/1`);
    const second = await fhirFetch<Patient>(`${fhirUrl}/Patient/${id}`, { method: 'PUT', body: { ...newPatient('Put2'), id } });
    expect(second.status).to.equal(200);
    expect(second.body.meta?.versionId).to.equal('2');
  });

  it('update checks If-Match and answers 412 on a stale version', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: newPatient('Match') })) as Patient;
    const ok = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.id}`, {
      method: 'PUT',
      body: { ...created, gender: 'male' },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(ok.status).to.equal(200);
    const stale = await fhirFetch(`${fhirUrl}/Patient/${created.id}`, {
      method: 'PUT',
      body: { ...created, gender: 'other' },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(stale.status).to.equal(412);
    expect(diagnosticsOf(stale)).to.match(/version 2/);
    const now = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.id}`);
    expect(now.body.gender).to.equal('male');
    const bad = await fhirFetch(`${fhirUrl}/Patient/${created.id}`, {
      method: 'PUT',
      body: created,
      headers: { 'if-match': 'yesterday' },
    });
    expect(bad.status).to.equal(400);
  });

  it('delete answers 200, later reads answer 410 Gone, a second delete 204, and history keeps it', async () => {
    const created = (await client.create({ resourceType: 'Observation', body: obs('delete me') })) as Observation;
    const del = await fhirFetch<OperationOutcome>(`${fhirUrl}/Observation/${created.id}`, { method: 'DELETE' });
    expect(del.status).to.equal(200);
    expect(del.headers.get('etag')).to.equal('W/"2"');
    const gone = await fhirFetch(`${fhirUrl}/Observation/${created.id}`);
    expect(gone.status).to.equal(410);
    expect((gone.body as OperationOutcome).issue[0].code).to.equal('deleted');
    const again = await fhirFetch(`${fhirUrl}/Observation/${created.id}`, { method: 'DELETE' });
    expect(again.status).to.equal(204);
    const v1 = await fhirFetch<Observation>(`${fhirUrl}/Observation/${created.id}/_history/1`);
    expect(v1.status).to.equal(200);
    expect(v1.body.code.text).to.equal('delete me');
    const v2 = await fhirFetch(`${fhirUrl}/Observation/${created.id}/_history/2`);
    expect(v2.status).to.equal(410);
    // A deleted resource can be brought back with an update; its version count goes on.
    const back = await fhirFetch<Observation>(`${fhirUrl}/Observation/${created.id}`, {
      method: 'PUT',
      body: { ...obs('back again'), id: created.id },
    });
    expect(back.status).to.equal(201);
    expect(back.body.meta?.versionId).to.equal('3');
  });

  it('delete with a stale If-Match answers 412 and deletes nothing', async () => {
    const created = (await client.create({ resourceType: 'Observation', body: obs('keep me') })) as Observation;
    const res = await fhirFetch(`${fhirUrl}/Observation/${created.id}`, { method: 'DELETE', headers: { 'if-match': 'W/"5"' } });
    expect(res.status).to.equal(412);
    expect((await fhirFetch(`${fhirUrl}/Observation/${created.id}`)).status).to.equal(200);
  });

  it('reading or deleting an unknown id answers 404 with an OperationOutcome', async () => {
    const res = await fhirFetch(`${fhirUrl}/Patient/does-not-exist`);
    expect(res.status).to.equal(404);
    expect(diagnosticsOf(res)).to.match(/not known/);
    expect((await fhirFetch(`${fhirUrl}/Patient/does-not-exist`, { method: 'DELETE' })).status).to.equal(404);
  });

  it('honours Prefer: return=minimal, representation and OperationOutcome', async () => {
    const minimal = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: newPatient('Minimal'),
      headers: { prefer: 'return=minimal' },
    });
    expect(minimal.status).to.equal(201);
    expect(minimal.text).to.equal('');
    expect(minimal.headers.get('location')).to.match(/\/Patient\/[^/]+\/_history\/1$/);
    const oo = await fhirFetch<OperationOutcome>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: newPatient('Outcome'),
      headers: { prefer: 'return=OperationOutcome' },
    });
    expect(oo.body.resourceType).to.equal('OperationOutcome');
    expect(oo.body.issue[0].severity).to.equal('information');
    const rep = await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: newPatient('Rep'),
      headers: { prefer: 'return=representation' },
    });
    expect(rep.body.resourceType).to.equal('Patient');
  });

  it('supports _summary and _elements on read, marking the result SUBSETTED', async () => {
    const created = (await client.create({
      resourceType: 'Patient',
      body: { ...newPatient('Summary'), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Ann</div>' }, maritalStatus: { text: 'M' } },
    })) as Patient;
    const summary = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.id}?_summary=true`);
    expect(summary.body.name).to.exist;
    expect(summary.body.birthDate).to.equal('1980-02-03');
    expect(summary.body.maritalStatus).to.be.undefined; // not a summary element
    expect(summary.body.text).to.be.undefined;
    expect(summary.body.meta?.tag?.some((t) => t.code === 'SUBSETTED')).to.equal(true);
    const data = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.id}?_summary=data`);
    expect(data.body.text).to.be.undefined;
    expect(data.body.maritalStatus).to.deep.equal({ text: 'M' });
    const text = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.id}?_summary=text`);
    expect(text.body.text?.status).to.equal('generated');
    expect(text.body.name).to.be.undefined;
    const elements = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.id}?_elements=birthDate`);
    expect(Object.keys(elements.body).sort()).to.deep.equal(['birthDate', 'id', 'meta', 'resourceType']);
    const obsId = ((await client.create({ resourceType: 'Observation', body: obs('choice') })) as Observation).id;
    for (const name of ['value', 'valueQuantity']) {
      const shaped = await fhirFetch<Observation>(`${fhirUrl}/Observation/${obsId}?_elements=${name}`);
      expect(shaped.body.valueQuantity?.value, name).to.equal(6.1);
      expect(shaped.body.code, 'mandatory elements stay').to.exist;
      expect(shaped.body.subject).to.be.undefined;
    }
    const bad = await fhirFetch(`${fhirUrl}/Patient/${created.id}?_summary=everything`);
    expect(bad.status).to.equal(400);
  });

  it('pretty-prints with _pretty=true and answers HEAD without a body', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: newPatient('Pretty') })) as Patient;
    const pretty = await fhirFetch(`${fhirUrl}/Patient/${created.id}?_pretty=true`);
    expect(pretty.text).to.contain('\n  "resourceType": "Patient"');
    const compact = await fhirFetch(`${fhirUrl}/Patient/${created.id}`);
    expect(compact.text).to.not.contain('\n');
    const head = await fetch(`${fhirUrl}/Patient/${created.id}`, { method: 'HEAD', headers: await authorizationFor(fhirUrl) });
    expect(head.status).to.equal(200);
    expect(head.headers.get('etag')).to.equal('W/"1"');
    expect(await head.text()).to.equal('');
  });

  it('answers 304 to If-None-Match with the current version', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: newPatient('Cached') })) as Patient;
    const same = await fhirFetch(`${fhirUrl}/Patient/${created.id}`, { headers: { 'if-none-match': 'W/"1"' } });
    expect(same.status).to.equal(304);
    const other = await fhirFetch(`${fhirUrl}/Patient/${created.id}`, { headers: { 'if-none-match': 'W/"0"' } });
    expect(other.status).to.equal(200);
  });

  it('sends helmet security headers and a request id on every response, errors included', async () => {
    const res = await fhirFetch(`${fhirUrl}/Patient/nope`, { headers: { 'x-request-id': 'trace-123' } });
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(res.headers.get('content-security-policy')).to.be.a('string');
    expect(res.headers.get('x-request-id')).to.equal('trace-123');
    const generated = await fhirFetch(`${fhirUrl}/metadata`);
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });
});

function obs(text: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }], text },
    subject: { reference: 'Patient/example' },
    valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
  };
}
