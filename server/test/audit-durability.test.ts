// The audit trail's guarantees around its queue: what was recorded before a clean shutdown is
// written before the database closes, and while the queue is full (the database not taking its
// writes) no data is served unrecorded.
import { expect } from 'chai';
import type { OperationOutcome, Patient } from 'fhir/r4';
import type { ServerConfig } from '../src/config.ts';
import { startTestServerWith, testConfig } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';
import { auditEvents, requestId } from './support/audit.ts';
import { AUDIT_JOURNAL_COLLECTION } from '../src/audit/audit-journal.ts';

describe('Audit trail: queue and shutdown', function () {
  this.timeout(90_000);

  async function configWith(audit: Partial<ServerConfig['audit']>, databaseName?: string): Promise<ServerConfig> {
    const base = await testConfig();
    return { ...base, ...(databaseName ? { databaseName } : {}), audit: { ...base.audit, ...audit } };
  }

  it('writes everything queued when the server stops cleanly, before its database closes', async () => {
    // A flush interval far longer than the test: the records can only be written by the shutdown.
    const first = await configWith({ flushMs: 10_000, batchSize: 5_000 });
    const running = await startTestServerWith(first);
    const fhir = `${first.baseUrl}/fhir`;
    let patient: Patient;
    const rids: string[] = [];
    try {
      patient = (await fhirFetch<Patient>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Shutdown' }] } })).body;
      for (let i = 0; i < 25; i++) {
        rids.push(requestId(`shutdown-${i}`));
        expect((await fhirFetch(`${fhir}/Patient/${patient.id}`, { headers: { 'x-request-id': rids[i] } })).status).to.equal(200);
      }
      // Looked at in the database: a search of the trail would write the queue first (settle).
      const db = running.database.db;
      expect(await db.collection(AUDIT_JOURNAL_COLLECTION).countDocuments(), 'no journal document before the shutdown').to.equal(0);
      expect(await db.collection('AuditEvent').countDocuments(), 'no AuditEvent before the shutdown').to.equal(0);
    } finally {
      await running.close();
    }

    const second = await configWith({}, first.databaseName);
    const again = await startTestServerWith(second);
    try {
      const events = await auditEvents(`${second.baseUrl}/fhir`, `patient=${patient!.id}`, { atLeast: 26, waitMs: 0 });
      const recorded = new Set(events.flatMap((e) => (e.entity ?? []).map((x) => x.what?.identifier?.value)));
      for (const rid of rids) expect(recorded.has(rid), rid).to.equal(true);
      expect(events.filter((e) => e.action === 'C')).to.have.length(1);
    } finally {
      await again.close();
    }
  });

  it('refuses FHIR requests with 503 while its queue is full, and serves them again once it is written', async () => {
    const config = await configWith({ flushMs: 4_000, batchSize: 5_000, queueLimit: 100 });
    const running = await startTestServerWith(config);
    const fhir = `${config.baseUrl}/fhir`;
    try {
      let served = 0;
      let refused: Awaited<ReturnType<typeof fhirFetch<OperationOutcome>>> | undefined;
      // Ten at a time, so that the queue fills well within the flush interval.
      while (!refused && served <= 100) {
        const answers = await Promise.all(Array.from({ length: 10 }, () => fhirFetch<OperationOutcome>(`${fhir}/Patient?_count=1`)));
        served += answers.filter((a) => a.status === 200).length;
        refused = answers.find((a) => a.status !== 200);
      }
      expect(refused, 'a request refused once the queue held its limit').to.not.equal(undefined);
      expect(served, 'requests served before the refusals').to.be.at.most(100);
      expect(refused!.status, refused!.text).to.equal(503);
      expect(refused!.headers.get('retry-after')).to.equal('5');
      expect(refused!.body.issue[0].code).to.equal('transient');
      expect(refused!.body.issue[0].diagnostics).to.match(/audit trail/);
      // The CapabilityStatement shows no one's data and stays available.
      expect((await fhirFetch(`${fhir}/metadata?_summary=true`, { anonymous: true })).status).to.equal(200);

      const deadline = Date.now() + 20_000;
      let status = 503;
      while (status === 503 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        status = (await fhirFetch(`${fhir}/Patient?_count=1`)).status;
      }
      expect(status, 'served again after the queue was written').to.equal(200);
      const searches = await auditEvents(fhir, 'subtype=search-type', { atLeast: served });
      expect(searches.length).to.be.at.least(served);
    } finally {
      await running.close();
    }
  });
});
