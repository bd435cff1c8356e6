// The audit trail's writer when the database refuses its writes (which the HTTP tests cannot
// arrange: every request needs the database to check its token): batches are retried as they
// were built, so nothing is stored twice, and records that could not be queued are recorded as a
// gap once writing works again. The store here stands for the repository's bulk insert and fails
// on purpose; the documents it receives are the ones the repository would store.
import { expect } from 'chai';
import type { AuditEvent } from 'fhir/r4';
import { AuditTrail, type AuditStore } from '../src/audit/audit-trail.ts';
import type { RestAuditRecord } from '../src/audit/audit-record.ts';
import type { CurrentDocument } from '../src/fhir/repo/stored-document.ts';
import { createLogger } from '../src/logger.ts';

describe('Audit trail writer: refused writes', () => {
  /** A store that refuses the first `failures` inserts, then keeps what it gets. */
  function flakyStore(failures: number) {
    const stored = new Map<string, CurrentDocument>();
    let attempts = 0;
    const store: AuditStore = {
      buildDocument: (resource: AuditEvent, id: string) => ({ _id: id, vid: 1, ts: new Date(), resource: { ...resource, id } }),
      async insert(docs) {
        attempts++;
        if (attempts <= failures) {
          // Half the batch lands before the failure, as a bulk write cut short would leave it.
          for (const d of docs.slice(0, Math.ceil(docs.length / 2))) stored.set(String(d._id), d);
          throw Object.assign(new Error('write refused'), { name: 'MongoServerSelectionError' });
        }
        for (const d of docs) stored.set(String(d._id), d);
      },
    };
    return { store, stored, attempts: () => attempts };
  }

  const directory = { clientName: async () => 'App', accountFhirUser: async () => undefined };
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
  const requestIds = (docs: Iterable<CurrentDocument>) =>
    [...docs].map((d) => (d.resource as AuditEvent).entity?.find((e) => e.what?.identifier)?.what?.identifier?.value);

  it('retries a refused batch as it was built: every record stored once', async () => {
    const { store, stored, attempts } = flakyStore(2);
    const trail = new AuditTrail(store, directory, 'http://localhost', { flushMs: 10, batchSize: 500, queueLimit: 1000 }, createLogger('silent'));
    for (let i = 0; i < 20; i++) trail.record(read(i));
    await trail.close();
    expect(attempts()).to.equal(3);
    expect(stored.size).to.equal(20);
    expect(requestIds(stored.values()).sort()).to.deep.equal(Array.from({ length: 20 }, (_, i) => `r${i}`).sort());
    expect(trail.backlog).to.equal(0);
  });

  it('holds at most queueLimit records, refuses more (accepting() is false), and records the gap once it can write', async () => {
    const { store, stored } = flakyStore(1);
    const trail = new AuditTrail(store, directory, 'http://localhost', { flushMs: 60_000, batchSize: 5_000, queueLimit: 100 }, createLogger('silent'));
    for (let i = 0; i < 100; i++) trail.record(read(i));
    expect(trail.accepting()).to.equal(false);
    for (let i = 100; i < 107; i++) trail.record(read(i)); // lost: the queue is full
    await trail.flush().catch(() => undefined); // the first write is refused
    await trail.close(); // the retry succeeds
    const docs = [...stored.values()].map((d) => d.resource as AuditEvent);
    const gap = docs.filter((e) => e.subtype?.some((c) => c.code === 'audit-records-lost'));
    expect(gap).to.have.length(1);
    expect(gap[0].outcome).to.equal('8');
    expect(gap[0].outcomeDesc).to.match(/^7 audit record\(s\) from .* were lost/);
    expect(docs.filter((e) => e.type.code === 'rest')).to.have.length(100);
    expect(trail.accepting()).to.equal(true);
  });
});
