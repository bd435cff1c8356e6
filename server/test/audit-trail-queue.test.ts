// The audit trail's writer when the database refuses its writes (which the HTTP tests cannot
// arrange: every request needs the database to check its token): batches are retried as they
// were built, so nothing is stored twice, and records that could not be queued are recorded as a
// gap once writing works again. The journal here stands for the audit journal's collection and
// fails on purpose; the documents it receives are the ones the collection would store (the
// materializer turns them into AuditEvents: audit-journal.test.ts).
import { expect } from 'chai';
import { AuditTrail } from '../src/audit/audit-trail.ts';
import type { AuditJournalStore, JournalDocument } from '../src/audit/audit-journal.ts';
import type { AuditRecord, RestAuditRecord } from '../src/audit/audit-record.ts';
import { auditEventsOf } from '../src/audit/audit-event-builder.ts';
import { createLogger } from '../src/logger.ts';

describe('Audit trail writer: batches and refused writes', () => {
  /**
   * A journal that refuses the first `failures` appends, then keeps what it gets (by id, as the
   * collection's _id index does). A refused append may have landed all the same (a write whose
   * answer was lost), as odd-numbered ones do here.
   */
  function flakyJournal(failures: number) {
    const stored = new Map<string, JournalDocument>();
    let attempts = 0;
    const journal: AuditJournalStore = {
      async append(doc) {
        attempts++;
        if (attempts <= failures) {
          if (attempts % 2 === 1) stored.set(doc._id, structuredClone(doc));
          throw Object.assign(new Error('write refused'), { name: 'MongoServerSelectionError' });
        }
        if (!stored.has(doc._id)) stored.set(doc._id, structuredClone(doc));
      },
      claim: async () => undefined,
      release: async () => undefined,
      remove: async () => undefined,
      oldest: async () => undefined,
    };
    const records = (): AuditRecord[] => [...stored.values()].flatMap((d) => d.records);
    return { journal, stored, records, attempts: () => attempts };
  }

  const read = (n: number): RestAuditRecord => ({
    kind: 'rest',
    at: new Date(),
    actor: { system: true, clientId: 'app' },
    requestId: `r${n}`,
    interaction: 'read',
    request: `GET Patient/p${n}`,
    resources: [{ reference: `Patient/p${n}`, patients: [`p${n}`] }],
    patients: [`p${n}`],
    status: 200,
  });
  const requestIds = (records: AuditRecord[]) => records.map((r) => (r.kind === 'rest' ? r.requestId : r.kind));

  it('retries a refused batch as it was built: every record stored once, in one journal document', async () => {
    const { journal, stored, records, attempts } = flakyJournal(2);
    const trail = new AuditTrail(journal, undefined, { flushMs: 10, batchSize: 500, queueLimit: 1000 }, createLogger('silent'));
    for (let i = 0; i < 20; i++) trail.record(read(i));
    await trail.close();
    expect(attempts()).to.equal(3);
    expect(stored.size).to.equal(1);
    expect(requestIds(records()).sort()).to.deep.equal(Array.from({ length: 20 }, (_, i) => `r${i}`).sort());
    expect(trail.backlog).to.equal(0);
  });

  it('holds at most queueLimit records, refuses more (accepting() is false), and records the gap once it can write', async () => {
    const { journal, records } = flakyJournal(2);
    const trail = new AuditTrail(journal, undefined, { flushMs: 60_000, batchSize: 5_000, queueLimit: 100 }, createLogger('silent'));
    for (let i = 0; i < 100; i++) trail.record(read(i));
    expect(trail.accepting()).to.equal(false);
    for (let i = 100; i < 107; i++) trail.record(read(i)); // lost: the queue is full
    await trail.flush().catch(() => undefined); // the first write is refused (and lands)
    await trail.flush().catch(() => undefined); // the second is refused (and does not)
    await trail.close(); // the retry succeeds
    const gap = records().filter((r) => r.kind === 'gap');
    expect(gap).to.have.length(1);
    const [event] = auditEventsOf(gap[0], { baseUrl: 'http://localhost', clientName: () => undefined, accountFhirUser: () => undefined });
    expect(event.outcome).to.equal('8');
    expect(event.outcomeDesc).to.match(/^7 audit record\(s\) from .* were lost/);
    expect(records().filter((r) => r.kind === 'rest')).to.have.length(100);
    expect(trail.accepting()).to.equal(true);
  });

  it('keeps records that arrive while a batch is written for the next flush: journal documents of a flush interval, not of one write', async () => {
    const appended: JournalDocument[] = [];
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const firstStarted = new Promise<void>((r) => (started = r));
    const journal: AuditJournalStore = {
      async append(doc) {
        appended.push(structuredClone(doc));
        if (appended.length === 1) {
          started();
          await new Promise<void>((r) => (release = r));
        }
      },
      claim: async () => undefined,
      release: async () => undefined,
      remove: async () => undefined,
      oldest: async () => undefined,
    };
    const trail = new AuditTrail(journal, undefined, { flushMs: 200, batchSize: 500, queueLimit: 1000 }, createLogger('silent'));
    trail.record(read(0));
    await firstStarted;
    for (let i = 1; i < 10; i++) trail.record(read(i));
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(appended, 'documents written 50 ms after the first write ended').to.have.length(1);
    await trail.close();
    expect(appended.map((d) => d.records.length)).to.deep.equal([1, 9]);
  });
});
