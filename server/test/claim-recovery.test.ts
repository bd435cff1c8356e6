// A server that dies between claiming a version (its history entry) and making it current: the
// next server settles the claim at start-up, without waiting for another write to the resource.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { MongoClient } from 'mongodb';
import type { Bundle, Patient } from 'fhir/r4';
import { spawnServerProcess, testDatabaseUri } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

describe('claims left by a server that died are settled at start-up', function () {
  this.timeout(180_000);
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('rolls a claimed version forward, so reads show what history shows', async () => {
    const mongoUri = await testDatabaseUri();
    const env = { MONGODB_URI: mongoUri, MONGODB_DB: `claims_${Date.now().toString(36)}` };
    const first = await spawnServerProcess(env);
    children.push(first.child);
    const fhir = `${first.baseUrl}/fhir`;
    const created = (await fhirFetch<Patient>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;

    // What a server dying between the two writes of an update leaves: version 2 claimed in
    // history, version 1 still current. Written here directly, then the server is killed.
    const client = new MongoClient(mongoUri);
    try {
      const ts = new Date();
      const resource = { ...created, gender: 'female', meta: { versionId: '2', lastUpdated: ts.toISOString() } };
      await client
        .db(env.MONGODB_DB)
        .collection('history')
        .insertOne({ _id: `Patient/${created.id}/2`, type: 'Patient', id: created.id, vid: 2, ts, method: 'PUT', resource, patient: created.id } as never);
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));

      const second = await spawnServerProcess(env);
      children.push(second.child);
      const fhir2 = `${second.baseUrl}/fhir`;
      let read = await fhirFetch<Patient>(`${fhir2}/Patient/${created.id}`);
      const deadline = Date.now() + 20_000;
      while (read.body.meta?.versionId !== '2' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        read = await fhirFetch<Patient>(`${fhir2}/Patient/${created.id}`);
      }
      expect(read.body.meta?.versionId, 'settled without another write').to.equal('2');
      expect(read.body.gender).to.equal('female');
      const history = (await fhirFetch<Bundle>(`${fhir2}/Patient/${created.id}/_history`)).body;
      expect(history.total).to.equal(2);
      // The dead server's record is gone once settled.
      const instances = await client.db(env.MONGODB_DB).collection('server_instances').countDocuments();
      expect(instances, 'only the running server is registered').to.equal(1);
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    } finally {
      await client.close();
    }
  });
});
