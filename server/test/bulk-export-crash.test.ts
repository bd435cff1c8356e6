// A server killed in the middle of an export: once its lease has expired, the next server to start
// (here: the same server started again) resumes the job from its last recorded page, and the
// export completes with exact counts and no resource twice.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { MongoClient } from 'mongodb';
import * as oidc from 'openid-client';
import type { Bundle } from 'fhir/r4';
import { ClientRegistry } from '../src/auth/clients.ts';
import { SecretBox } from '../src/auth/secret-box.ts';
import { spawnServerProcess, testDatabaseUri, TEST_AUTH_SECRET } from './support/test-server.ts';
import { backendConfiguration, registerBackendClient, type BackendCredentials } from './support/test-auth.ts';
import { fhirFetch } from './support/http.ts';
import { exported, waitForManifest, type BulkClient } from './support/bulk-export.ts';

const OBSERVATIONS = 400;

describe('Bulk Data export after a crash', function () {
  this.timeout(180_000);
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  /** A client of the spawned server's database, with a token from the server at `baseUrl`. */
  async function clientOf(baseUrl: string, credentials: BackendCredentials): Promise<BulkClient> {
    const token = (await oidc.clientCredentialsGrant(await backendConfiguration(baseUrl, credentials), { scope: 'system/*.rs' })).access_token;
    return { credentials, token, headers: (extra = {}) => ({ authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async', ...extra }) };
  }

  it('resumes a job whose server was killed mid-export, without repeating or losing a resource', async () => {
    const mongoUri = await testDatabaseUri();
    // Small pages and a short lease: the export takes many pages, and the job is free soon after the kill.
    const env = { MONGODB_URI: mongoUri, MONGODB_DB: `export_crash_${Date.now().toString(36)}`, BULK_PAGE_SIZE: '4', BULK_LEASE_MS: '2000', BULK_MIN_POLL_MS: '0', BULK_WORKER_POLL_MS: '200' };
    const first = await spawnServerProcess(env);
    children.push(first.child);
    const patient = await fhirFetch<{ id: string }>(`${first.baseUrl}/fhir/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Crash' }] } });
    // Every reading points to one doctor: the Patient-level export carries her once, also across the crash.
    const doctor = await fhirFetch<{ id: string }>(`${first.baseUrl}/fhir/Practitioner`, { method: 'POST', body: { resourceType: 'Practitioner', name: [{ family: 'Reyes' }] } });
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: Array.from({ length: OBSERVATIONS }, (_, i) => ({
        request: { method: 'POST', url: 'Observation' },
        resource: {
          resourceType: 'Observation',
          status: 'final',
          code: { text: `reading ${i}` },
          subject: { reference: `Patient/${patient.body.id}` },
          performer: [{ reference: `Practitioner/${doctor.body.id}` }],
        },
      })),
    };
    expect((await fhirFetch(`${first.baseUrl}/fhir`, { method: 'POST', body: bundle })).status).to.equal(200);

    const mongo = new MongoClient(mongoUri);
    let credentials: BackendCredentials;
    try {
      credentials = await registerBackendClient(new ClientRegistry(mongo.db(env.MONGODB_DB), new SecretBox(Buffer.from(TEST_AUTH_SECRET, 'base64'))), { scope: 'system/*.rs' });
    } finally {
      await mongo.close();
    }
    const client = await clientOf(first.baseUrl, credentials);
    const kick = await fetch(`${first.baseUrl}/fhir/Patient/$export?_type=Patient,Observation,Practitioner`, { headers: client.headers() });
    expect(kick.status).to.equal(202);
    const jobPath = new URL(kick.headers.get('content-location')!).pathname;

    // Killed without warning once some pages are written, well before the end.
    let exportedBefore = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const res = await fetch(`${first.baseUrl}${jobPath}`, { headers: { authorization: `Bearer ${client.token}` } });
      expect(res.status, 'the export must still be running when the server is killed').to.equal(202);
      exportedBefore = Number(/(\d+) resources/.exec(res.headers.get('x-progress') ?? '')?.[1] ?? 0);
      if (exportedBefore >= 20) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect(exportedBefore).to.be.within(20, OBSERVATIONS - 20);

    const second = await spawnServerProcess(env);
    children.push(second.child);
    const again = await clientOf(second.baseUrl, credentials);
    const { manifest } = await waitForManifest(`${second.baseUrl}${jobPath}`, again, 120_000);
    const byType = await exported(manifest, again);
    const ids = byType.get('Observation')!.map((o) => o.id);
    expect(ids).to.have.length(OBSERVATIONS);
    expect(new Set(ids).size, 'no resource twice').to.equal(OBSERVATIONS);
    expect(byType.get('Patient')!.map((p) => p.id)).to.deep.equal([patient.body.id]);
    expect(byType.get('Practitioner')!.map((p) => p.id)).to.deep.equal([doctor.body.id]);
    expect(manifest.output.find((o) => o.type === 'Observation')!.count).to.equal(OBSERVATIONS);
    second.child.kill('SIGTERM');
  });
});
