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

    // 1500 resources the transaction updates (each update is staged on its own, so staging takes a while).
    const setup = await fhirFetch<Bundle>(fhir, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: Array.from({ length: 1500 }, (_, i): BundleEntry => ({
          resource: { resourceType: 'Basic', code: { text: 'before' }, subject: { reference: `Patient/${changed.id}` }, created: `2024-01-${String((i % 28) + 1).padStart(2, '0')}` },
          request: { method: 'POST', url: 'Basic' },
        })),
      },
    });
    const basics = setup.body.entry!.map((e) => e.response!.location!.split('/')[5]);

    const tag = `crash-${randomUUID()}`;
    const entries: BundleEntry[] = [
      { request: { method: 'DELETE', url: `Patient/${doomed.id}` } },
      ...basics.map((id): BundleEntry => ({
        resource: { resourceType: 'Basic', id, code: { text: tag }, subject: { reference: `Patient/${changed.id}` } },
        request: { method: 'PUT', url: `Basic/${id}` },
      })),
      { resource: { ...changed, gender: 'female' }, request: { method: 'PUT', url: `Patient/${changed.id}` } },
    ];
    const pending = fhirFetch(fhir, { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: entries } }).catch(
      () => undefined, // the connection dies with the server
    );

    // Wait until a good part of the transaction is staged (readers do not see staged versions, so
    // the database is watched directly), then kill the server without warning.
    const watcher = new MongoClient(mongoUri);
    const staged = new Set<string>();
    try {
      const history = watcher.db(env.MONGODB_DB).collection<{ id: string; tx?: string }>('history');
      const deadline = Date.now() + 60_000;
      while (staged.size < 100 && Date.now() < deadline) {
        for (const h of await history.find({ type: 'Basic', 'resource.code.text': tag }).project<{ id: string }>({ id: 1 }).toArray()) staged.add(h.id);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await watcher.close();
    }
    expect(staged.size, 'transaction writes staged before the crash').to.be.at.least(100);
    const seen = staged;
    expect((await fhirFetch(`${fhir}/Patient/${doomed.id}`)).status, 'readers see nothing of it before the commit').to.equal(200);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    await pending;

    const second = await spawnServerProcess(env);
    children.push(second.child);
    const fhir2 = `${second.baseUrl}/fhir`;
    for (const id of seen) {
      const res = await fhirFetch<Basic>(`${fhir2}/Basic/${id}`);
      expect(res.body.code?.text, `Basic/${id} after restart`).to.equal('before');
      expect(res.body.meta?.versionId).to.equal('1');
    }
    const history = (await fhirFetch<Bundle>(`${fhir2}/Basic/_history?_count=1000`)).body;
    expect((history.entry ?? []).filter((e) => (e.resource as Basic | undefined)?.code?.text === tag)).to.have.length(0);
    const back = await fhirFetch<Patient>(`${fhir2}/Patient/${doomed.id}`);
    expect(back.status, 'the patient the transaction would have deleted is still there').to.equal(200);
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
