// batch and transaction Bundles at POST /fhir, and conditional create/update/delete.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { FhirTestClient as Client } from './support/fhir-client.ts';
import type { Basic, Bundle, BundleEntry, Observation, OperationOutcome, Patient } from 'fhir/r4';
import { MongoClient } from 'mongodb';
import { testServer } from './support/test-server.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';

const MRN = 'https://health-records.dev/fhir/sid/mrn';

describe('FHIR REST: transaction Bundles', () => {
  let fhirUrl: string;
  let client: Client;
  before(async () => {
    ({ fhirUrl } = await testServer());
    client = new Client(fhirUrl);
  });

  const patientEntry = (fullUrl: string, mrn: string, extra: Partial<BundleEntry> = {}): BundleEntry => ({
    fullUrl,
    resource: { resourceType: 'Patient', identifier: [{ system: MRN, value: mrn }], name: [{ family: 'Tx' }] },
    request: { method: 'POST', url: 'Patient' },
    ...extra,
  });

  it('creates linked resources, rewriting urn:uuid references to the assigned ids', async () => {
    const pUrl = `urn:uuid:${randomUUID()}`;
    const mrn = `tx-${randomUUID()}`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'HbA1c' },
            subject: { reference: pUrl },
            valueQuantity: { value: 7.1, unit: '%' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        patientEntry(pUrl, mrn),
      ],
    };
    const res = (await client.transaction({ body: bundle })) as Bundle;
    expect(res.type).to.equal('transaction-response');
    expect(res.entry!.map((e) => e.response?.status)).to.deep.equal(['201 Created', '201 Created']);
    const obsLocation = res.entry![0].response!.location!;
    const patLocation = res.entry![1].response!.location!;
    expect(patLocation).to.match(/\/Patient\/[^/]+\/_history\/1$/);
    const patientId = patLocation.split('/')[patLocation.split('/').length - 3];
    const obs = (await fhirFetch<Observation>(obsLocation.replace(/\/_history\/\d+$/, ''))).body;
    expect(obs.subject?.reference).to.equal(`Patient/${patientId}`);
    expect(res.entry![1].fullUrl).to.equal(`${fhirUrl}/Patient/${patientId}`);
  });

  it('processes DELETE, POST, PUT, GET in FHIR order whatever the entry order', async () => {
    const old = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: 'male' } })) as Patient;
    const putId = `tx-put-${Date.now()}`;
    const res = (await client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'GET', url: `Patient/${putId}` } },
          { resource: { resourceType: 'Patient', id: putId, gender: 'female' }, request: { method: 'PUT', url: `Patient/${putId}` } },
          { request: { method: 'DELETE', url: `Patient/${old.id}` } },
        ],
      },
    })) as Bundle;
    expect(res.entry!.map((e) => e.response?.status)).to.deep.equal(['200 OK', '201 Created', '204 No Content']);
    expect((res.entry![0].resource as Patient).gender).to.equal('female'); // the GET ran after the PUT
    expect((await fhirFetch(`${fhirUrl}/Patient/${old.id}`)).status).to.equal(410);
  });

  it('is all-or-nothing: one invalid entry means nothing is stored', async () => {
    const mrn = `atomic-${randomUUID()}`;
    const existing = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: 'male' } })) as Patient;
    const res = await fhirFetch<OperationOutcome>(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          patientEntry(`urn:uuid:${randomUUID()}`, mrn),
          { resource: { ...existing, gender: 'female' }, request: { method: 'PUT', url: `Patient/${existing.id}` } },
          { resource: { resourceType: 'Observation', status: 'not-a-status', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } },
        ],
      },
    });
    expect(res.status).to.be.oneOf([400, 422]);
    expect(diagnosticsOf(res)).to.match(/Bundle\.entry\[2\]/);
    const search = (await fhirFetch<Bundle>(`${fhirUrl}/Patient?identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`)).body;
    expect(search.entry ?? []).to.have.length(0);
    expect(((await fhirFetch<Patient>(`${fhirUrl}/Patient/${existing.id}`)).body).gender).to.equal('male');
  });

  it('updates hundreds of existing resources in one transaction', async () => {
    // The apply step writes them in bulk; the local database hangs on an update command of 100 or
    // more statements, so the server must split them.
    const tag = `bulk-${randomUUID()}`;
    const created = await fhirFetch<Bundle>(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: Array.from({ length: 250 }, () => ({ resource: { resourceType: 'Basic', code: { text: 'v1' } }, request: { method: 'POST', url: 'Basic' } })),
      },
    });
    const ids = created.body.entry!.map((e) => e.response!.location!.split('/')[5]);
    const updated = await fhirFetch<Bundle>(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: ids.map((id) => ({ resource: { resourceType: 'Basic', id, code: { text: tag } }, request: { method: 'PUT', url: `Basic/${id}` } })),
      },
    });
    expect(updated.status).to.equal(200);
    expect(updated.body.entry!.every((e) => e.response!.status === '200 OK')).to.equal(true);
    const sample = await fhirFetch<Basic>(`${fhirUrl}/Basic/${ids[200]}`);
    expect(sample.body.code?.text).to.equal(tag);
    expect(sample.body.meta?.versionId).to.equal('2');
  });

  it('rolls back writes already made when a later write fails', async () => {
    const a = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: 'male' } })) as Patient;
    const b = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: 'male' } })) as Patient;
    const tag = `rollback-${randomUUID()}`;
    // Many creates are staged first (POST before PUT); while they are, b changes behind the
    // transaction's back, so its PUT on b (planned against version 1) fails after the creates and
    // the PUT on a were staged. Staged versions are invisible to readers, so the test watches the
    // database for the transaction's journal to know when to change b.
    const creates: BundleEntry[] = Array.from({ length: 2000 }, () => ({
      resource: { resourceType: 'Basic', code: { text: tag } },
      request: { method: 'POST', url: 'Basic' },
    }));
    const server = await testServer();
    const watcher = new MongoClient(server.mongoUri);
    const journals = watcher.db(server.databaseName).collection('journal');
    const tx = fhirFetch<OperationOutcome>(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          ...creates,
          { resource: { ...a, gender: 'female' }, request: { method: 'PUT', url: `Patient/${a.id}` } },
          { resource: { ...b, gender: 'female' }, request: { method: 'PUT', url: `Patient/${b.id}` } },
        ],
      },
    });
    try {
      for (let i = 0; i < 5000 && (await journals.countDocuments()) === 0; i++) await new Promise((r) => setTimeout(r, 2));
    } finally {
      await watcher.close();
    }
    const racer = await fhirFetch(`${fhirUrl}/Patient/${b.id}`, { method: 'PUT', body: { ...b, gender: 'other' } });
    expect(racer.status).to.equal(200);
    const result = await tx;
    expect(result.status).to.equal(409);
    expect(diagnosticsOf(result)).to.match(/changed while the transaction was running/);
    const aNow = (await fhirFetch<Patient>(`${fhirUrl}/Patient/${a.id}`)).body;
    expect(aNow.gender).to.equal('male');
    expect(aNow.meta?.versionId).to.equal('1');
    expect((await fhirFetch<Bundle>(`${fhirUrl}/Patient/${a.id}/_history`)).body.total).to.equal(1);
    const left = (await fhirFetch<Bundle>(`${fhirUrl}/Basic/_history?_count=1000`)).body.entry ?? [];
    expect(left.filter((e) => (e.resource as { code?: { text?: string } } | undefined)?.code?.text === tag)).to.have.length(0);
    expect(((await fhirFetch<Patient>(`${fhirUrl}/Patient/${b.id}`)).body).gender).to.equal('other');
  });

  it('resolves conditional creates (If-None-Exist) and conditional references', async () => {
    const mrn = `cond-${randomUUID()}`;
    const first = (await client.create({
      resourceType: 'Patient',
      body: { resourceType: 'Patient', identifier: [{ system: MRN, value: mrn }] },
    })) as Patient;
    const res = (await client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          patientEntry(`urn:uuid:${randomUUID()}`, mrn, {
            request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${MRN}|${mrn}` },
          }),
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'weight' },
              subject: { reference: `Patient?identifier=${MRN}|${mrn}` },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    })) as Bundle;
    expect(res.entry![0].response?.status).to.equal('200 OK');
    expect(res.entry![0].response?.location).to.contain(`/Patient/${first.id}/`);
    const obs = (await fhirFetch<Observation>(res.entry![1].response!.location!)).body;
    expect(obs.subject?.reference).to.equal(`Patient/${first.id}`);
  });

  it('rejects a reference to a urn:uuid no entry declares, and the same resource twice', async () => {
    const dangling = await fhirFetch(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `urn:uuid:${randomUUID()}` } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    });
    expect(dangling.status).to.equal(400);
    expect(diagnosticsOf(dangling)).to.match(/names no entry/);
    const twice = await fhirFetch(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', id: 'twice' }, request: { method: 'PUT', url: 'Patient/twice' } },
          { resource: { resourceType: 'Patient', id: 'twice' }, request: { method: 'PUT', url: 'Patient/twice' } },
        ],
      },
    });
    expect(twice.status).to.equal(400);
    expect(diagnosticsOf(twice)).to.match(/only once/);
  });

  it('rejects malformed bundles clearly', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ resourceType: 'Patient' }, /Bundle resource/],
      [{ resourceType: 'Bundle', type: 'collection' }, /batch or transaction/],
      [{ resourceType: 'Bundle', type: 'transaction', entry: {} }, /must be an array/],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' } }] }, /request is required/],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'FETCH', url: 'Patient' } }] }, /method/],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'https://elsewhere.example/Patient' }, resource: { resourceType: 'Patient' } }] }, /relative/],
    ];
    for (const [body, pattern] of cases) {
      const res = await fhirFetch(fhirUrl, { method: 'POST', body });
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(diagnosticsOf(res)).to.match(pattern);
    }
  });
});

describe('FHIR REST: batch Bundles', () => {
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  it('processes entries independently: failures do not stop the others', async () => {
    const res = await fhirFetch<Bundle>(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'GET', url: 'Patient/not-there' } },
          { resource: { resourceType: 'Patient', gender: 'wrong' }, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'GET', url: 'metadata' } },
        ],
      },
    });
    expect(res.status).to.equal(200);
    expect(res.body.type).to.equal('batch-response');
    const statuses = res.body.entry!.map((e) => e.response?.status);
    expect(statuses[0]).to.equal('201 Created');
    expect(statuses[1]).to.equal('404 Not Found');
    expect(statuses[2]).to.match(/^4(00|22)/);
    expect(statuses[3]).to.equal('200 OK');
    expect(res.body.entry![1].response?.outcome?.resourceType).to.equal('OperationOutcome');
    const createdUrl = res.body.entry![0].response!.location!;
    expect((await fhirFetch(createdUrl)).status).to.equal(200);
  });
});

describe('FHIR REST: conditional create, update and delete', () => {
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  const withMrn = (mrn: string, extra: Partial<Patient> = {}): Patient => ({
    resourceType: 'Patient',
    identifier: [{ system: MRN, value: mrn }],
    ...extra,
  });

  it('conditional create: none → 201, one → 200 with the existing resource, several → 412', async () => {
    const mrn = `cc-${randomUUID()}`;
    const headers = { 'if-none-exist': `identifier=${MRN}|${mrn}` };
    const first = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn), headers });
    expect(first.status).to.equal(201);
    const again = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn), headers });
    expect(again.status).to.equal(200);
    expect(again.body.id).to.equal(first.body.id);
    await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn) }); // a duplicate, made without the condition
    const many = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn), headers });
    expect(many.status).to.equal(412);
  });

  it('conditional update: none → create, one → update it, several → 412', async () => {
    const mrn = `cu-${randomUUID()}`;
    const url = `${fhirUrl}/Patient?identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`;
    const created = await fhirFetch<Patient>(url, { method: 'PUT', body: withMrn(mrn, { gender: 'male' }) });
    expect(created.status).to.equal(201);
    const updated = await fhirFetch<Patient>(url, { method: 'PUT', body: withMrn(mrn, { gender: 'female' }) });
    expect(updated.status).to.equal(200);
    expect(updated.body.id).to.equal(created.body.id);
    expect(updated.body.meta?.versionId).to.equal('2');
    const wrongId = await fhirFetch(url, { method: 'PUT', body: withMrn(mrn, { id: 'someone-else' }) });
    expect(wrongId.status).to.equal(400);
    await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn) });
    const many = await fhirFetch(url, { method: 'PUT', body: withMrn(mrn) });
    expect(many.status).to.equal(412);
  });

  it('conditional delete: one → deleted, none → 404, several → 412', async () => {
    const mrn = `cd-${randomUUID()}`;
    const url = `${fhirUrl}/Patient?identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`;
    const p = (await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn) })).body;
    expect((await fhirFetch(url, { method: 'DELETE' })).status).to.equal(200);
    expect((await fhirFetch(`${fhirUrl}/Patient/${p.id}`)).status).to.equal(410);
    expect((await fhirFetch(url, { method: 'DELETE' })).status).to.equal(404);
    await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn) });
    await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: withMrn(mrn) });
    expect((await fhirFetch(url, { method: 'DELETE' })).status).to.equal(412);
    expect((await fhirFetch(`${fhirUrl}/Patient`, { method: 'DELETE' })).status).to.equal(400);
  });
});
