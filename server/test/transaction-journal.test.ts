// The journal's own guarantees, beneath HTTP: a transaction another server has taken for dead
// (its lease ran out and it was rolled back) leaves nothing behind, even writes staged afterwards.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Patient } from 'fhir/r4';
import { OperationOutcomeError } from '../src/fhir/outcome.ts';
import { JOURNAL_COLLECTION } from '../src/fhir/repo/stored-document.ts';
import { TransactionJournal } from '../src/fhir/repo/transaction-journal.ts';
import { testServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

describe('transaction journal', () => {
  it('a transaction rolled back by another server leaves none of its writes, not even later ones', async () => {
    const { running, fhirUrl } = await testServer();
    const { journal, repo } = running.services;
    const existing = (await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;
    const fresh = randomUUID();
    const tx = await journal.begin([
      { type: 'Patient', id: existing.id!, priorVid: 1 },
      { type: 'Patient', id: fresh, priorVid: 0 },
    ]);
    const claims = await journal.stage(tx, [
      { kind: 'update', type: 'Patient', id: existing.id!, priorVid: 1, method: 'PUT', resource: { ...existing, gender: 'female' } as Patient },
    ]);
    // Another server decides this one is dead: it rolls the journal back and removes it ...
    await repo.db.collection(JOURNAL_COLLECTION).deleteOne({ _id: tx.id } as never);
    // ... while this server, unaware, goes on staging.
    claims.push(...(await journal.stage(tx, [{ kind: 'create', type: 'Patient', id: fresh, priorVid: 0, method: 'POST', resource: { resourceType: 'Patient', gender: 'other' } }])));

    let error: unknown;
    try {
      await journal.commit(tx, claims);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(OperationOutcomeError);
    expect((error as OperationOutcomeError).status).to.equal(409);
    expect((await fhirFetch(`${fhirUrl}/Patient/${fresh}`)).status).to.equal(404);
    const now = (await fhirFetch<Patient>(`${fhirUrl}/Patient/${existing.id}`)).body;
    expect(now.gender).to.equal('male');
    expect(now.meta?.versionId).to.equal('1');
    // Nothing it staged is left in history either.
    expect(await repo.history.countDocuments({ tx: tx.id })).to.equal(0);
    expect((await fhirFetch(`${fhirUrl}/Patient/${existing.id}/_history/2`)).status).to.equal(404);
  });
});

describe('transaction journal recovery', () => {
  it('a committed transaction whose server died before applying it is applied by recovery', async () => {
    const { running, fhirUrl } = await testServer();
    const { journal, repo, log } = running.services;
    const existing = (await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;
    const fresh = randomUUID();
    const tx = await journal.begin([
      { type: 'Patient', id: existing.id!, priorVid: 1 },
      { type: 'Patient', id: fresh, priorVid: 0 },
    ]);
    await journal.stage(tx, [
      { kind: 'update', type: 'Patient', id: existing.id!, priorVid: 1, method: 'PUT', resource: { ...existing, gender: 'female' } as Patient },
      { kind: 'create', type: 'Patient', id: fresh, priorVid: 0, method: 'POST', resource: { resourceType: 'Patient', gender: 'other' } },
    ]);
    // The server reached its commit point and died: the journal says committed, its lease runs out.
    tx.stopLease();
    await repo.db
      .collection(JOURNAL_COLLECTION)
      .updateOne({ _id: tx.id } as never, { $set: { state: 'committed', leaseUntil: new Date(Date.now() - 1000) } });
    // Another server's recovery (a journal of its own over the same database) applies it.
    const other = new TransactionJournal(repo, log, 2000);
    expect(await other.recover()).to.equal(1);
    repo.visibility.end(tx.id); // the dead server's in-memory state, gone with it
    const now = (await fhirFetch<Patient>(`${fhirUrl}/Patient/${existing.id}`)).body;
    expect(now.gender).to.equal('female');
    expect(now.meta?.versionId).to.equal('2');
    const created = await fhirFetch<Patient>(`${fhirUrl}/Patient/${fresh}`);
    expect(created.status).to.equal(200);
    expect(created.body.gender).to.equal('other');
    expect(await repo.db.collection(JOURNAL_COLLECTION).countDocuments({ _id: tx.id } as never)).to.equal(0);
  });
});
