// A server killed in the middle of a large transaction: after restart none of it is visible.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { MongoClient } from 'mongodb';
import type { Basic, Bundle, BundleEntry, Patient } from 'fhir/r4';
import { spawnServerProcess, testDatabaseUri } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

describe('FHIR REST: transactions survive a crash', function () {
  this.timeout(180_000);
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('a server killed half-way through a transaction shows none of it after restart', async () => {
    const mongoUri = await testDatabaseUri();
    const env = { MONGODB_URI: mongoUri, MONGODB_DB: `crash_${Date.now().toString(36)}`, TRANSACTION_LEASE_MS: '2000' };
    const first = await spawnServerProcess(env);
    children.push(first.child);
    const fhir = `${first.baseUrl}/fhir`;

    // Two resources that exist before: the transaction deletes one and updates the other.
    const doomed = (await fhirFetch<Patient>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;
    const changed = (await fhirFetch<Patient>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;

    const tag = `crash-${randomUUID()}`;
    const entries: BundleEntry[] = [
      { request: { method: 'DELETE', url: `Patient/${doomed.id}` } },
      ...Array.from({ length: 1500 }, (_, i): BundleEntry => ({
        resource: { resourceType: 'Basic', code: { text: tag }, subject: { reference: `Patient/${changed.id}` }, created: `2024-01-${String((i % 28) + 1).padStart(2, '0')}` },
        request: { method: 'POST', url: 'Basic' },
      })),
      { resource: { ...changed, gender: 'female' }, request: { method: 'PUT', url: `Patient/${changed.id}` } },
    ];
    const pending = fhirFetch(fhir, { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: entries } }).catch(
      () => undefined, // the connection dies with the server
    );

    // Wait until a good part of the transaction is visible, then kill the server without warning.
    const seen = new Set<string>();
    const deadline = Date.now() + 60_000;
    while (seen.size < 100 && Date.now() < deadline) {
      const page = (await fhirFetch<Bundle>(`${fhir}/Basic/_history?_count=50`)).body;
      for (const e of page.entry ?? []) if ((e.resource as Basic | undefined)?.code?.text === tag) seen.add(e.resource!.id!);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen.size, 'transaction writes seen before the crash').to.be.at.least(100);
    expect((await fhirFetch(`${fhir}/Patient/${doomed.id}`)).status, 'the delete ran before the crash').to.equal(410);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    await pending;

    const second = await spawnServerProcess(env);
    children.push(second.child);
    const fhir2 = `${second.baseUrl}/fhir`;
    for (const id of seen) {
      const res = await fhirFetch(`${fhir2}/Basic/${id}`);
      expect(res.status, `Basic/${id} after restart`).to.equal(404);
    }
    const history = (await fhirFetch<Bundle>(`${fhir2}/Basic/_history?_count=1000`)).body;
    expect((history.entry ?? []).filter((e) => (e.resource as Basic | undefined)?.code?.text === tag)).to.have.length(0);
    const back = await fhirFetch<Patient>(`${fhir2}/Patient/${doomed.id}`);
    expect(back.status, 'the deleted patient is back').to.equal(200);
    expect(back.body.meta?.versionId).to.equal('1');
    const same = (await fhirFetch<Patient>(`${fhir2}/Patient/${changed.id}`)).body;
    expect(same.gender).to.equal('male');
    expect(same.meta?.versionId).to.equal('1');
    // The journal is gone, and a new write to the restored resources works normally.
    const client = new MongoClient(mongoUri);
    try {
      expect(await client.db(env.MONGODB_DB).collection('journal').countDocuments()).to.equal(0);
    } finally {
      await client.close();
    }
    const update = await fhirFetch<Patient>(`${fhir2}/Patient/${doomed.id}`, { method: 'PUT', body: { ...back.body, gender: 'other' } });
    expect(update.status).to.equal(200);
    expect(update.body.meta?.versionId).to.equal('2');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});
