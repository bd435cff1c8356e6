// The journal's own guarantees, beneath HTTP: a transaction another server has taken for dead
// (its lease ran out and it was rolled back) leaves nothing behind, even writes made afterwards.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Patient } from 'fhir/r4';
import { OperationOutcomeError } from '../src/fhir/outcome.ts';
import { JOURNAL_COLLECTION } from '../src/fhir/repo/stored-document.ts';
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
    await repo.update({ ...existing, id: existing.id!, gender: 'female' } as Patient & { id: string }, { tx: tx.id, expectedVid: 1 });
    // Another server decides this one is dead: it rolls the journal back and removes it ...
    await repo.db.collection(JOURNAL_COLLECTION).deleteOne({ _id: tx.id } as never);
    // ... while this server, unaware, goes on writing.
    await repo.create({ resourceType: 'Patient', gender: 'other' }, { id: fresh, tx: tx.id });

    let error: unknown;
    try {
      await journal.commit(tx);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(OperationOutcomeError);
    expect((error as OperationOutcomeError).status).to.equal(409);
    expect((await fhirFetch(`${fhirUrl}/Patient/${fresh}`)).status).to.equal(404);
    const now = (await fhirFetch<Patient>(`${fhirUrl}/Patient/${existing.id}`)).body;
    expect(now.gender).to.equal('male');
    expect(now.meta?.versionId).to.equal('1');
  });
});
