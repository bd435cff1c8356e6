// Readers never see a transaction's writes before it commits, and see all of them after: searches,
// counts, reads, includes and history, polled while a large transaction commits or rolls back.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Basic, Bundle, BundleEntry, Patient } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

const ENTRIES = 3000;

interface Observed {
  counts: number[];
  historyCounts: number[];
  genders: string[];
  includes: number[];
}

describe('transactions are isolated from readers', function () {
  this.timeout(300_000);
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  /** Polls what a reader sees until `done` resolves; every sample must be "none" or "all". */
  async function pollWhile(done: Promise<unknown>, tag: string, subjectId: string): Promise<Observed> {
    const seen: Observed = { counts: [], historyCounts: [], genders: [], includes: [] };
    let finished = false;
    void done.finally(() => (finished = true));
    // One sample is a reader's sequence of requests: if the count shows the transaction, every
    // later read must too (the patient's change and the revincludes).
    const sample = async () => {
      const count = await fhirFetch<Bundle>(`${fhirUrl}/Basic?subject=Patient/${subjectId}&_summary=count`);
      const subject = await fhirFetch<Patient>(`${fhirUrl}/Patient/${subjectId}`);
      const withInclude = await fhirFetch<Bundle>(`${fhirUrl}/Patient?_id=${subjectId}&_revinclude=Basic:subject&_count=1`);
      const history = await fhirFetch<Bundle>(`${fhirUrl}/Basic/_history?_count=1000`);
      seen.counts.push(count.body.total!);
      seen.genders.push(subject.body.gender!);
      seen.includes.push((withInclude.body.entry ?? []).filter((e) => e.search?.mode === 'include').length);
      seen.historyCounts.push((history.body.entry ?? []).filter((e) => (e.resource as Basic | undefined)?.code?.text === tag).length);
    };
    while (!finished) {
      await sample();
      await new Promise((r) => setTimeout(r, 5));
    }
    await sample();
    return seen;
  }

  function transaction(tag: string, subject: Patient, last?: BundleEntry): Bundle {
    const entries: BundleEntry[] = Array.from({ length: ENTRIES - 1 }, (_, i) => ({
      resource: { resourceType: 'Basic', code: { text: tag }, subject: { reference: `Patient/${subject.id}` }, created: `2024-01-${String((i % 28) + 1).padStart(2, '0')}` },
      request: { method: 'POST', url: 'Basic' },
    }));
    entries.push(last ?? { resource: { ...subject, gender: 'female' }, request: { method: 'PUT', url: `Patient/${subject.id}` } });
    return { resourceType: 'Bundle', type: 'transaction', entry: entries };
  }

  it('a reader polling during a large transaction that commits sees none of it, then all of it', async () => {
    const tag = `iso-${randomUUID()}`;
    const subject = (await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;
    const tx = fhirFetch<Bundle>(fhirUrl, { method: 'POST', body: transaction(tag, subject) });
    const seen = await pollWhile(tx, tag, subject.id!);
    expect((await tx).status).to.equal(200);
    expect(seen.counts.length, 'samples taken while the transaction ran').to.be.at.least(3);
    const partial = (xs: number[], all: number) => xs.filter((n) => n !== 0 && n !== all);
    expect(partial(seen.counts, ENTRIES - 1), 'search counts between none and all').to.deep.equal([]);
    const last = (xs: number[]) => xs[xs.length - 1];
    expect(last(seen.includes), 'revincludes once committed').to.be.above(0);
    expect(partial(seen.includes, last(seen.includes)), 'revincludes between none and all').to.deep.equal([]);
    expect(last(seen.historyCounts), 'history entries once committed').to.be.above(0);
    expect(partial(seen.historyCounts, last(seen.historyCounts)), 'history entries between none and a full page').to.deep.equal([]);
    // Once a reader saw the transaction, it never saw the state before it again.
    const firstSeen = seen.counts.findIndex((n) => n !== 0);
    seen.genders.forEach((g, i) => {
      if (i >= firstSeen) expect(g, `sample ${i}: patient read after the count showed the transaction`).to.equal('female');
    });
    seen.includes.forEach((n, i) => {
      if (i >= firstSeen) expect(n, `sample ${i}: revincludes after the count showed the transaction`).to.not.equal(0);
    });
    seen.counts.forEach((n, i) => {
      if (i >= firstSeen) expect(n, `sample ${i}`).to.not.equal(0);
    });
    expect(seen.counts[seen.counts.length - 1]).to.equal(ENTRIES - 1);
  });

  it('a reader polling during a large transaction that rolls back never sees any of it', async () => {
    const tag = `iso-rb-${randomUUID()}`;
    const subject = (await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;
    // The last entry cannot be stored (its stored form is over the database's document limit), which
    // is found only when it is written: the transaction rolls back after writing everything else.
    const tooLarge: BundleEntry = { resource: { ...subject, name: [{ family: 'x'.repeat(7 * 1024 * 1024) }] }, request: { method: 'PUT', url: `Patient/${subject.id}` } };
    const tx = fhirFetch(fhirUrl, { method: 'POST', body: transaction(tag, subject, tooLarge) });
    const seen = await pollWhile(tx, tag, subject.id!);
    expect((await tx).status).to.equal(413);
    expect(seen.counts.every((n) => n === 0), `counts ${[...new Set(seen.counts)].join(',')}`).to.equal(true);
    expect(seen.historyCounts.every((n) => n === 0)).to.equal(true);
    expect(seen.includes.every((n) => n === 0)).to.equal(true);
    expect(seen.genders.every((g) => g === 'male')).to.equal(true);
    const after = await fhirFetch<Patient>(`${fhirUrl}/Patient/${subject.id}`);
    expect(after.body.meta?.versionId).to.equal('1');
  });
});
