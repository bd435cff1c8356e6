// The audit journal and its materializer, through the API: the trail is written behind the
// requests (journal documents, turned into AuditEvents in the background) but read consistently,
// survives a materializer that stopped half-way, is not duplicated by two servers on one
// database, and does not fall behind for ever under sustained load.
import { expect } from 'chai';
import type { AuditEvent, Bundle, Patient } from 'fhir/r4';
import type { Db } from 'mongodb';
import type { ServerConfig } from '../src/config.ts';
import type { RunningServer } from '../src/server.ts';
import { AUDIT_CLAIMS_COLLECTION, AUDIT_JOURNAL_COLLECTION, AuditJournal, type JournalDocument } from '../src/audit/audit-journal.ts';
import { auditEventsOf } from '../src/audit/audit-event-builder.ts';
import { auditEventId } from '../src/audit/audit-event-ids.ts';
import type { RestAuditRecord } from '../src/audit/audit-record.ts';
import { startTestServerWith, testConfig } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';
import { auditEvents, requestId } from './support/audit.ts';

type AuditSettings = Omit<Partial<ServerConfig['audit']>, 'materialize'> & { materialize?: Partial<ServerConfig['audit']['materialize']> };

async function configWith(audit: AuditSettings, databaseName?: string): Promise<ServerConfig> {
  const base = await testConfig();
  return {
    ...base,
    ...(databaseName ? { databaseName } : {}),
    audit: { ...base.audit, ...audit, materialize: { ...base.audit.materialize, ...audit.materialize } },
  };
}

const requestIdOf = (e: AuditEvent): string | undefined => e.entity?.find((x) => x.what?.identifier)?.what?.identifier?.value;

/** How often each request id appears among the events. */
function countByRequest(events: AuditEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    const rid = requestIdOf(e);
    if (rid) counts.set(rid, (counts.get(rid) ?? 0) + 1);
  }
  return counts;
}

async function createPatient(fhir: string, family: string): Promise<Patient> {
  const res = await fhirFetch<Patient>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family }] } });
  expect(res.status, res.text).to.equal(201);
  return res.body;
}

async function readWithId(fhir: string, patient: Patient, rid: string): Promise<void> {
  const res = await fhirFetch(`${fhir}/Patient/${patient.id}`, { headers: { 'x-request-id': rid } });
  expect(res.status, res.text).to.equal(200);
}

describe('Audit journal: the trail written behind the requests, read consistently', function () {
  this.timeout(120_000);

  describe('reading the trail right after an access', () => {
    let running: RunningServer;
    let fhir: string;
    before(async () => {
      // Records wait ten seconds before their batch is written: only the reader's settling can show them sooner.
      const config = await configWith({ flushMs: 10_000 });
      running = await startTestServerWith(config);
      fhir = `${config.baseUrl}/fhir`;
    });
    after(() => running.close());

    it('finds a read in an AuditEvent search sent the moment the read was answered', async () => {
      const patient = await createPatient(fhir, 'Atonce');
      const rid = requestId('at-once');
      await readWithId(fhir, patient, rid);
      const events = await auditEvents(fhir, `entity:identifier=${encodeURIComponent(rid)}`, { waitMs: 0 });
      expect(events.map(requestIdOf)).to.deep.equal([rid]);
      expect(events[0].entity?.some((x) => x.what?.reference === `Patient/${patient.id}`)).to.equal(true);
    });

    it('finds a read in the patient\'s $everything with _type=AuditEvent sent at once', async () => {
      const patient = await createPatient(fhir, 'Everything');
      const rid = requestId('everything');
      await readWithId(fhir, patient, rid);
      const res = await fhirFetch<Bundle>(`${fhir}/Patient/${patient.id}/$everything?_type=AuditEvent`);
      expect(res.status, res.text).to.equal(200);
      const events = (res.body.entry ?? []).map((e) => e.resource!).filter((r): r is AuditEvent => r.resourceType === 'AuditEvent');
      expect(events.map(requestIdOf)).to.include(rid);
    });

    it('reads an AuditEvent by id at once, with the id a search gave', async () => {
      const patient = await createPatient(fhir, 'Byid');
      const rid = requestId('by-id');
      await readWithId(fhir, patient, rid);
      const [event] = await auditEvents(fhir, `entity:identifier=${encodeURIComponent(rid)}`, { waitMs: 0 });
      const again = await fhirFetch<AuditEvent>(`${fhir}/AuditEvent/${event.id}`);
      expect(again.status, again.text).to.equal(200);
      expect(requestIdOf(again.body)).to.equal(rid);
    });
  });

  describe('a journal document whose materialization was interrupted', () => {
    let running: RunningServer;
    let fhir: string;
    let db: Db;
    before(async () => {
      // A short lease, so that a document held by a stopped server is free again within the test.
      const config = await configWith({ materialize: { leaseMs: 1_000 } });
      running = await startTestServerWith(config);
      fhir = `${config.baseUrl}/fhir`;
      db = running.database.db;
    });
    after(() => running.close());

    /** Reads of a patient as the request path records them, with their request ids. */
    function reads(patient: Patient, label: string, n: number): RestAuditRecord[] {
      return Array.from({ length: n }, (_, i) => ({
        kind: 'rest',
        at: new Date(),
        actor: { system: true, clientId: 'stopped-server-client', address: '192.0.2.1' },
        requestId: requestId(`${label}-${i}`),
        interaction: 'read',
        request: `GET Patient/${patient.id}`,
        resources: [{ reference: `Patient/${patient.id}`, patients: [patient.id!] }],
        patients: [patient.id!],
        status: 200,
      }));
    }

    /** A journal document as a server that stopped in the middle of it left it: claimed, some of its events written. */
    async function leftBehind(records: RestAuditRecord[], written: number, claimedUntil: Date): Promise<JournalDocument> {
      const doc: JournalDocument = { _id: crypto.randomUUID(), at: new Date(), records, claimedUntil, owner: 'a-stopped-server' };
      await new AuditJournal(db).append(doc);
      const repo = running.services.repo;
      const ctx = { baseUrl: running.url, clientName: () => undefined, accountFhirUser: () => undefined };
      const docs = records.slice(0, written).flatMap((r, i) => auditEventsOf(r, ctx).map((event, e) => repo.buildDocument(event, auditEventId(doc._id, i, e), 1, doc.at)));
      await repo.insertNew('AuditEvent', docs);
      return doc;
    }

    async function expectEachOnce(patient: Patient, records: RestAuditRecord[]): Promise<AuditEvent[]> {
      const events = await auditEvents(fhir, `patient=${patient.id}&subtype=read`, { waitMs: 0 });
      const counts = countByRequest(events);
      for (const r of records) expect(counts.get(r.requestId), r.requestId).to.equal(1);
      expect(events).to.have.length(records.length);
      return events;
    }

    it('ends with each event exactly once when its lease has run out (some events written, some not)', async () => {
      const patient = await createPatient(fhir, 'Interrupted');
      const records = reads(patient, 'interrupted', 10);
      const doc = await leftBehind(records, 4, new Date(Date.now() - 60_000));
      const events = await expectEachOnce(patient, records);
      // The events written before the interruption kept their ids.
      const ids = new Set(events.map((e) => e.id));
      for (let i = 0; i < 4; i++) expect(ids.has(auditEventId(doc._id, i, 0))).to.equal(true);
      expect(await db.collection(AUDIT_JOURNAL_COLLECTION).countDocuments({ _id: doc._id } as object), 'the journal document is deleted').to.equal(0);
      expect(await db.collection(AUDIT_CLAIMS_COLLECTION).countDocuments({ _id: doc._id } as object), 'its claim entry is deleted').to.equal(0);
    });

    it('waits for a document a stopped server still holds until its lease runs out, then shows each event once', async () => {
      const patient = await createPatient(fhir, 'Heldlease');
      const records = reads(patient, 'held', 6);
      await leftBehind(records, 3, new Date(Date.now() + 800));
      await expectEachOnce(patient, records);
    });
  });

  describe('two servers on one database', () => {
    let a: RunningServer;
    let b: RunningServer;
    let fhirA: string;
    let fhirB: string;
    before(async () => {
      // Both look at the journal often and never pace: their materializers race for every document.
      const fast = { flushMs: 20, materialize: { pollMs: 50, busyPercent: 100, stepRecords: 3 } };
      const configA = await configWith(fast);
      a = await startTestServerWith(configA);
      const configB = await configWith(fast, configA.databaseName);
      b = await startTestServerWith(configB);
      fhirA = `${configA.baseUrl}/fhir`;
      fhirB = `${configB.baseUrl}/fhir`;
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('record each access once, whichever server materializes it', async () => {
      const patient = await createPatient(fhirA, 'Twoservers');
      const rids: string[] = [];
      for (let round = 0; round < 8; round++) {
        const batch = Array.from({ length: 10 }, (_, i) => requestId(`two-${round}-${i}`));
        rids.push(...batch);
        await Promise.all(batch.map((rid, i) => readWithId(i % 2 === 0 ? fhirA : fhirB, patient, rid)));
        // Readers of the trail on both servers settle the same journal at the same time.
        await Promise.all([auditEvents(fhirA, `patient=${patient.id}`, { waitMs: 0 }), auditEvents(fhirB, `patient=${patient.id}`, { waitMs: 0 })]);
      }
      for (const fhir of [fhirA, fhirB]) {
        const events = await auditEvents(fhir, `patient=${patient.id}&subtype=read`, { waitMs: 0 });
        const counts = countByRequest(events);
        for (const rid of rids) expect(counts.get(rid), `${rid} via ${fhir}`).to.equal(1);
        expect(events).to.have.length(rids.length);
      }
    });
  });

  describe('under sustained load', () => {
    let running: RunningServer;
    let fhir: string;
    before(async () => {
      // Any use of the event loop counts as busy: only the lag limit makes the materializer go on.
      const config = await configWith({ flushMs: 50, materialize: { busyPercent: 0, maxLagMs: 1_000, pollMs: 200 } });
      running = await startTestServerWith(config);
      fhir = `${config.baseUrl}/fhir`;
    });
    after(() => running.close());

    it('keeps the trail at most about its lag limit behind the accesses while requests keep coming', async () => {
      const patient = await createPatient(fhir, 'Sustained');
      const journal = running.database.db.collection<Pick<JournalDocument, '_id' | 'at'>>(AUDIT_CLAIMS_COLLECTION);
      let loading = true;
      let reads = 0;
      const load = Promise.all(
        Array.from({ length: 4 }, async () => {
          while (loading) {
            await readWithId(fhir, patient, requestId('load'));
            reads++;
          }
        }),
      );
      const lags: number[] = [];
      try {
        const end = Date.now() + 8_000;
        while (Date.now() < end) {
          await new Promise((r) => setTimeout(r, 250));
          const oldest = await journal.findOne({}, { sort: { at: 1 }, projection: { at: 1 } });
          lags.push(oldest ? Date.now() - oldest.at.getTime() : 0);
        }
      } finally {
        loading = false;
        await load;
      }
      expect(reads, 'reads served during the test').to.be.above(50);
      // A lag limit of 1 s, plus one document's materialization and a loaded machine's margin; a
      // materializer that waited for quiet would be 8 s behind by the end.
      expect(Math.max(...lags.slice(-8)), `journal lag samples (ms): ${lags.join(' ')}`).to.be.below(5_000);
      // Nothing is left once the load stops, without anyone reading the trail.
      const deadline = Date.now() + 20_000;
      while ((await journal.countDocuments()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await journal.countDocuments(), 'journal documents left once the load stopped').to.equal(0);
    });
  });
});
