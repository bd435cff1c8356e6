// Identifier lookup keys (fhir/search/key-hints.ts): on a database without multikey indexes the
// server narrows identifier searches with keys kept beside the documents. Whatever happens to the
// keys, answers must be exactly those of the plain search: resources written before keys existed,
// identifiers changed or removed, resources deleted, keys switched off. (Transaction rollbacks
// write through the same path: bundle-transaction.test.ts runs with the keys on.)
import { expect } from 'chai';
import type { Bundle, Patient } from 'fhir/r4';
import { createLogger } from '../src/logger.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { KEY_HINTS_COLLECTION, type KeyDocument } from '../src/fhir/search/key-hints.ts';
import { startTestServerWith, testConfig } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

const SYSTEM = 'urn:test:mrn';

async function start(databaseName: string, searchKeyHints: 'auto' | 'on' | 'off'): Promise<RunningServer> {
  const config = await testConfig({ databaseName, searchKeyHints });
  return startTestServerWith(config);
}

async function idsFor(server: RunningServer, query: string): Promise<string[]> {
  const res = await fhirFetch(`${server.url}/fhir/${query}`);
  expect(res.status, query).to.equal(200);
  const bundle = res.body as Bundle;
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id ?? '').sort();
}

const patient = (mrn: string, extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: SYSTEM, value: mrn }, { system: 'urn:test:other', value: `X-${mrn}` }],
  name: [{ family: 'Hint' }],
  ...extra,
});

async function create(server: RunningServer, resource: Patient): Promise<string> {
  const res = await fhirFetch(`${server.url}/fhir/Patient`, { method: 'POST', body: resource });
  expect(res.status).to.equal(201);
  return (res.body as Patient).id ?? '';
}

describe('search: identifier lookup keys', function () {
  let server: RunningServer;
  let keysOn: boolean;
  const db = `test_hints_${process.pid}_${Date.now().toString(36)}`;

  before(async () => {
    server = await start(db, 'auto');
    const info = await server.database.db.admin().command({ buildInfo: 1 });
    keysOn = typeof info.ferretdbVersion === 'string';
  });
  after(async () => server?.close());

  it('are kept on FerretDB (auto) and answer identifier searches exactly', async () => {
    const a = await create(server, patient('A1'));
    const b = await create(server, patient('B1'));
    expect(await idsFor(server, `Patient?identifier=${SYSTEM}|A1`)).to.deep.equal([a]);
    expect(await idsFor(server, `Patient?identifier=A1`)).to.deep.equal([a]);
    expect(await idsFor(server, `Patient?identifier=|A1`)).to.deep.equal([]); // A1 has a system
    expect(await idsFor(server, `Patient?identifier=${SYSTEM}|A1,${SYSTEM}|B1`)).to.deep.equal([a, b].sort());
    expect(await idsFor(server, `Patient?identifier=${SYSTEM}|nobody`)).to.deep.equal([]);
    // No key for "any value of a system": the plain condition answers.
    const all = await idsFor(server, `Patient?identifier=${encodeURIComponent(`${SYSTEM}|`)}&name=Hint`);
    expect(all).to.include.members([a, b]);
    if (keysOn) {
      const keys = await server.database.db.collection<KeyDocument>(KEY_HINTS_COLLECTION).countDocuments({ _id: { $regex: ` ${a}$` } });
      expect(keys).to.equal(3); // the two identifier values and the name
    }
  });

  it('stay exact when identifiers change or resources are deleted', async () => {
    const id = await create(server, patient('C1'));
    const put = await fhirFetch(`${server.url}/fhir/Patient/${id}`, { method: 'PUT', body: { ...patient('C2'), id } });
    expect(put.status).to.equal(200);
    expect(await idsFor(server, `Patient?identifier=${SYSTEM}|C1`)).to.deep.equal([]); // stale key, no hit
    expect(await idsFor(server, `Patient?identifier=${SYSTEM}|C2`)).to.deep.equal([id]);

    expect((await fhirFetch(`${server.url}/fhir/Patient/${id}`, { method: 'DELETE' })).status).to.be.oneOf([200, 204]);
    expect(await idsFor(server, `Patient?identifier=${SYSTEM}|C2`)).to.deep.equal([]);
  });

  it('narrow chained searches through the identifier', async () => {
    const p = await create(server, patient('D1'));
    const obs = await fhirFetch(`${server.url}/fhir/Observation`, {
      method: 'POST',
      body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${p}` } },
    });
    expect(obs.status).to.equal(201);
    const q = `Observation?subject:Patient.identifier=${encodeURIComponent(`${SYSTEM}|D1`)}`;
    expect(await idsFor(server, q)).to.deep.equal([(obs.body as { id: string }).id]);
    expect(await idsFor(server, `Observation?subject:Patient.identifier=${encodeURIComponent(`${SYSTEM}|D0`)}`)).to.deep.equal([]);
  });

  it('are built at start for resources written while they were off, and forgotten when off', async function () {
    if (!keysOn) this.skip(); // MongoDB: keys are never used
    const other = `${db}_build`;
    const off = await start(other, 'off');
    let before: string;
    try {
      before = await create(off, patient('E1'));
      expect(await idsFor(off, `Patient?identifier=${SYSTEM}|E1`)).to.deep.equal([before]);
    } finally {
      await off.close();
    }
    const on = await start(other, 'auto');
    let during: string;
    try {
      expect(await idsFor(on, `Patient?identifier=${SYSTEM}|E1`)).to.deep.equal([before]);
      during = await create(on, patient('E2'));
    } finally {
      await on.close();
    }
    // Off again (writes without keys), then on: the keys are rebuilt, nothing is missed.
    const off2 = await start(other, 'off');
    let after: string;
    try {
      after = await create(off2, patient('E3'));
    } finally {
      await off2.close();
    }
    const on2 = await start(other, 'on');
    try {
      for (const [mrn, id] of [['E1', before], ['E2', during], ['E3', after]]) {
        expect(await idsFor(on2, `Patient?identifier=${SYSTEM}|${mrn}`), mrn).to.deep.equal([id]);
      }
    } finally {
      await on2.close();
    }
  });

  it('give way to the plain condition for identifiers too common to narrow by', async () => {
    const shared = { system: 'urn:test:shared', value: `S-${Date.now()}` };
    const entries = Array.from({ length: 520 }, () => ({
      resource: { resourceType: 'Patient', identifier: [shared] },
      request: { method: 'POST', url: 'Patient' },
    }));
    const tx = await fhirFetch(`${server.url}/fhir`, { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: entries } });
    expect(tx.status).to.equal(200);
    const res = await fhirFetch(`${server.url}/fhir/Patient?identifier=${encodeURIComponent(`${shared.system}|${shared.value}`)}&_summary=count`);
    expect((res.body as Bundle).total).to.equal(520);
    const page = await idsFor(server, `Patient?identifier=${encodeURIComponent(`${shared.system}|${shared.value}`)}&_count=600`);
    expect(page).to.have.length(520);
  });

  it('treat identifier values that look like operators or patterns as data', async () => {
    const id = await create(server, patient('{"$gt":""}'));
    expect(await idsFor(server, `Patient?identifier=${encodeURIComponent(`${SYSTEM}|{"$gt":""}`)}`)).to.deep.equal([id]);
    expect(await idsFor(server, `Patient?identifier=${encodeURIComponent(`${SYSTEM}|.*`)}`)).to.deep.equal([]);
  });
});
