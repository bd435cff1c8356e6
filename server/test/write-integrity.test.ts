// A write that cannot be stored leaves no trace: no claimed version, no history entry, and the
// resource stays writable. See issue "A single write can break a resource for good".
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { Bundle, EnrollmentRequest, Patient } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';

/** A string that makes the stored form (resource plus its search index values) exceed 16 MiB. */
const hugeName = () => 'x'.repeat(7 * 1024 * 1024);

describe('writes that cannot be stored leave no trace', function () {
  this.timeout(120_000);
  let fhirUrl: string;
  let client: MongoClient;
  let databaseName: string;
  before(async () => {
    const server = await testServer();
    fhirUrl = server.fhirUrl;
    databaseName = server.databaseName;
    client = new MongoClient(server.mongoUri);
  });
  after(async () => {
    await client.close();
  });

  const historyOf = (type: string, id: string) =>
    client.db(databaseName).collection('history').find({ type, id }).project({ vid: 1, method: 1 }).sort({ vid: 1 }).toArray();

  it('a PUT too large to store answers 413 naming the limit, claims no version, and the resource stays writable', async () => {
    const created = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } });
    const id = created.body.id!;
    const started = Date.now();
    const big = await fhirFetch(`${fhirUrl}/Patient/${id}`, {
      method: 'PUT',
      body: { resourceType: 'Patient', id, name: [{ family: hugeName() }] },
    });
    expect(big.status).to.equal(413);
    expect(diagnosticsOf(big)).to.match(/16 MiB/);
    expect(await historyOf('Patient', id)).to.have.length(1);

    // The next update and delete work at once (no wait for a stuck claim) and number on from 1.
    const next = await fhirFetch<Patient>(`${fhirUrl}/Patient/${id}`, { method: 'PUT', body: { resourceType: 'Patient', id, gender: 'female' } });
    expect(next.status).to.equal(200);
    expect(next.body.meta?.versionId).to.equal('2');
    const del = await fhirFetch(`${fhirUrl}/Patient/${id}`, { method: 'DELETE' });
    expect(del.status).to.equal(200);
    expect(Date.now() - started, 'no write waited for an abandoned claim').to.be.below(8000);
    expect((await historyOf('Patient', id)).map((h) => h.vid)).to.deep.equal([1, 2, 3]);
  });

  it('a POST too large to store answers 413 and leaves no history entry behind', async () => {
    const tag = randomUUID();
    const big = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', identifier: [{ value: tag }], name: [{ family: hugeName() }] },
    });
    expect(big.status).to.equal(413);
    const stray = await client.db(databaseName).collection('history').countDocuments({ type: 'Patient', 'resource.identifier.value': tag });
    expect(stray).to.equal(0);
    const history = await fhirFetch<Bundle>(`${fhirUrl}/Patient/_history?_count=5`);
    expect(history.status).to.equal(200);
    expect(history.text.length, 'type history carries no abandoned 7 MB version').to.be.below(1024 * 1024);
  });

  it('a current-document write the database refuses undoes the version it claimed', async () => {
    // Another way the second write of a version can fail: the database refuses the document
    // (here a unique index the test adds on the collection, as a constraint an operator might add).
    // EnrollmentRequest: a type no other test stores, so the index holds only this test's data.
    const at = (second: number) => `2024-02-03T04:05:${String(second).padStart(2, '0')}Z`;
    const first = await fhirFetch<EnrollmentRequest>(`${fhirUrl}/EnrollmentRequest`, { method: 'POST', body: { resourceType: 'EnrollmentRequest', created: at(1) } });
    const second = await fhirFetch<EnrollmentRequest>(`${fhirUrl}/EnrollmentRequest`, { method: 'POST', body: { resourceType: 'EnrollmentRequest', created: at(2) } });
    const coll = client.db(databaseName).collection('EnrollmentRequest');
    await coll.createIndex({ 'resource.created': 1 }, { unique: true, name: 'test_unique_created' });
    try {
      const clash = await fhirFetch(`${fhirUrl}/EnrollmentRequest/${second.body.id}`, {
        method: 'PUT',
        body: { resourceType: 'EnrollmentRequest', id: second.body.id, created: at(1) },
      });
      expect(clash.status).to.equal(409);
      expect(await historyOf('EnrollmentRequest', second.body.id!)).to.have.length(1);
      const fresh = await fhirFetch(`${fhirUrl}/EnrollmentRequest`, { method: 'POST', body: { resourceType: 'EnrollmentRequest', created: at(1) } });
      expect(fresh.status).to.equal(409);
      expect(await client.db(databaseName).collection('history').countDocuments({ type: 'EnrollmentRequest', 'resource.created': at(1) })).to.equal(1);
    } finally {
      await coll.dropIndex('test_unique_created');
    }
    const ok = await fhirFetch<EnrollmentRequest>(`${fhirUrl}/EnrollmentRequest/${second.body.id}`, {
      method: 'PUT',
      body: { resourceType: 'EnrollmentRequest', id: second.body.id, created: at(3) },
    });
    expect(ok.status).to.equal(200);
    expect(ok.body.meta?.versionId).to.equal('2');
    expect((await fhirFetch(`${fhirUrl}/EnrollmentRequest/${first.body.id}`)).status).to.equal(200);
  });
});
