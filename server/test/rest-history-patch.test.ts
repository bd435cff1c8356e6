// History at three levels with paging, JSON Patch, and concurrent writers.
import { expect } from 'chai';
import { FhirTestClient as Client } from './support/fhir-client.ts';
import type { Bundle, Observation, Patient } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';

describe('FHIR REST: history', () => {
  let fhirUrl: string;
  let client: Client;
  before(async () => {
    ({ fhirUrl } = await testServer());
    client = new Client(fhirUrl);
  });

  it('instance history lists every version newest first, deletions included', async () => {
    const p = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: 'female' } })) as Patient;
    await client.update({ resourceType: 'Patient', id: p.id!, body: { ...p, gender: 'male' } });
    await client.delete({ resourceType: 'Patient', id: p.id! });
    const bundle = (await client.history({ resourceType: 'Patient', id: p.id! })) as Bundle;
    expect(bundle.type).to.equal('history');
    expect(bundle.total).to.equal(3);
    const e = bundle.entry!;
    expect(e.map((x) => x.response?.etag)).to.deep.equal(['W/"3"', 'W/"2"', 'W/"1"']);
    expect(e.map((x) => x.request?.method)).to.deep.equal(['DELETE', 'PUT', 'POST']);
    expect(e[0].resource).to.be.undefined;
    expect((e[1].resource as Patient).gender).to.equal('male');
    expect(e[2].fullUrl).to.equal(`${fhirUrl}/Patient/${p.id}`);
  });

  it('the history entry of a DELETE carries the status the DELETE answered', async () => {
    const rest = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } })) as Patient;
    const deleted = await fhirFetch(`${fhirUrl}/Patient/${rest.id}`, { method: 'DELETE' });
    expect(deleted.status).to.equal(200);
    const restHistory = (await fhirFetch<Bundle>(`${fhirUrl}/Patient/${rest.id}/_history`)).body;
    expect(restHistory.entry!.map((e) => e.response?.status)).to.deep.equal(['200', '201']);

    const inTx = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } })) as Patient;
    const tx = await fhirFetch<Bundle>(fhirUrl, {
      method: 'POST',
      body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `Patient/${inTx.id}` } }] },
    });
    const answered = tx.body.entry![0].response!.status.split(' ')[0];
    const txHistory = (await fhirFetch<Bundle>(`${fhirUrl}/Patient/${inTx.id}/_history`)).body;
    expect(txHistory.entry![0].response?.status).to.equal(answered);
  });

  it('type and system history page with next links until every version is seen, honouring _since', async () => {
    const marker = new Date();
    await new Promise((r) => setTimeout(r, 5));
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const o = (await client.create({
        resourceType: 'Observation',
        body: { resourceType: 'Observation', status: 'final', code: { text: `paging ${i}` } },
      })) as Observation;
      ids.push(o.id!);
    }
    const seen: string[] = [];
    let url: string | undefined = `${fhirUrl}/Observation/_history?_since=${encodeURIComponent(marker.toISOString())}&_count=3`;
    let pages = 0;
    while (url) {
      const page: Bundle = (await fhirFetch<Bundle>(url)).body;
      pages++;
      expect(page.entry!.length).to.be.at.most(3);
      seen.push(...page.entry!.map((x) => x.resource!.id!));
      url = page.link?.find((l) => l.relation === 'next')?.url;
      expect(pages).to.be.below(10);
    }
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal([...ids].reverse());
    const system = (await fhirFetch<Bundle>(`${fhirUrl}/_history?_since=${encodeURIComponent(marker.toISOString())}&_count=100`)).body;
    expect(system.entry!.map((x) => x.resource!.id)).to.include.members(ids);
    expect(system.link?.find((l) => l.relation === 'self')?.url).to.contain('/_history');
  });

  it('paging stays correct when new versions arrive between pages', async () => {
    const marker = new Date();
    await new Promise((r) => setTimeout(r, 5));
    const mk = async (n: number) =>
      ((await client.create({ resourceType: 'Basic', body: { resourceType: 'Basic', code: { text: `b${n}` } } })) as { id: string }).id;
    const first = [await mk(1), await mk(2), await mk(3), await mk(4)];
    const page1 = (await fhirFetch<Bundle>(`${fhirUrl}/Basic/_history?_count=2&_since=${encodeURIComponent(marker.toISOString())}`)).body;
    const later = await mk(5); // newer than everything already listed
    const next = page1.link!.find((l) => l.relation === 'next')!.url;
    const page2 = (await fhirFetch<Bundle>(next)).body;
    const listed = [...page1.entry!, ...page2.entry!].map((e) => e.resource!.id);
    expect(listed).to.deep.equal([...first].reverse());
    expect(listed).to.not.include(later);
  });
});

describe('FHIR REST: JSON Patch', () => {
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  async function patient(): Promise<Patient> {
    return (
      await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
        method: 'POST',
        body: { resourceType: 'Patient', name: [{ family: 'Patch', given: ['A'] }], active: true },
      })
    ).body;
  }

  const patchReq = (ops: unknown, headers: Record<string, string> = {}) => ({
    method: 'PATCH',
    raw: JSON.stringify(ops),
    headers: { 'content-type': 'application/json-patch+json', ...headers },
  });

  it('applies a JSON Patch as a new version', async () => {
    const p = await patient();
    const res = await fhirFetch<Patient>(
      `${fhirUrl}/Patient/${p.id}`,
      patchReq([
        { op: 'replace', path: '/active', value: false },
        { op: 'add', path: '/name/0/given/-', value: 'B' },
      ]),
    );
    expect(res.status).to.equal(200);
    expect(res.body.active).to.equal(false);
    expect(res.body.name?.[0].given).to.deep.equal(['A', 'B']);
    expect(res.body.meta?.versionId).to.equal('2');
    expect(res.headers.get('etag')).to.equal('W/"2"');
  });

  it('patches with fhir-kit-client too', async () => {
    const p = await patient();
    const client = new Client(fhirUrl);
    const patched = (await client.patch({
      resourceType: 'Patient',
      id: p.id!,
      jsonPatch: [{ op: 'replace', path: '/active', value: false }],
    })) as Patient;
    expect(patched.active).to.equal(false);
  });

  it('refuses patches that break the resource, change its id, fail a test, or come as plain JSON', async () => {
    const p = await patient();
    const invalid = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, patchReq([{ op: 'replace', path: '/active', value: 'maybe' }]));
    expect(invalid.status).to.be.oneOf([400, 422]);
    const id = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, patchReq([{ op: 'replace', path: '/id', value: 'other' }]));
    expect(id.status).to.equal(400);
    const test = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, patchReq([{ op: 'test', path: '/active', value: false }]));
    expect(test.status).to.equal(422);
    const badPath = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, patchReq([{ op: 'remove', path: '/nothing/here' }]));
    expect(badPath.status).to.equal(400);
    const proto = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, patchReq([{ op: 'add', path: '/__proto__/polluted', value: 1 }]));
    expect(proto.status).to.equal(400);
    const notArray = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, patchReq({ op: 'remove', path: '/active' }));
    expect(notArray.status).to.equal(400);
    const plain = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, {
      method: 'PATCH',
      body: [{ op: 'remove', path: '/active' }],
      headers: { 'content-type': 'application/fhir+json' },
    });
    expect(plain.status).to.equal(415);
    const now = await fhirFetch<Patient>(`${fhirUrl}/Patient/${p.id}`);
    expect(now.body.meta?.versionId).to.equal('1');
  });

  it('checks If-Match on patch', async () => {
    const p = await patient();
    const stale = await fhirFetch(`${fhirUrl}/Patient/${p.id}`, patchReq([{ op: 'remove', path: '/active' }], { 'if-match': 'W/"9"' }));
    expect(stale.status).to.equal(412);
    expect(diagnosticsOf(stale)).to.match(/version 1/);
  });
});

describe('FHIR REST: concurrent writers', () => {
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  it('parallel updates of one resource each become their own version; none is lost', async () => {
    const p = (
      await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Race' }] } })
    ).body;
    const writers = 12;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        fhirFetch<Patient>(`${fhirUrl}/Patient/${p.id}`, {
          method: 'PUT',
          body: { resourceType: 'Patient', id: p.id, name: [{ family: 'Race', given: [`writer-${i}`] }] },
        }),
      ),
    );
    expect(results.map((r) => r.status)).to.deep.equal(Array(writers).fill(200));
    const versions = results.map((r) => Number(r.body.meta!.versionId)).sort((a, b) => a - b);
    expect(versions).to.deep.equal(Array.from({ length: writers }, (_, i) => i + 2));
    const history = (await fhirFetch<Bundle>(`${fhirUrl}/Patient/${p.id}/_history?_count=100`)).body;
    expect(history.total).to.equal(writers + 1);
    const givens = history.entry!.map((e) => (e.resource as Patient).name?.[0].given?.[0]).filter(Boolean);
    expect(new Set(givens).size).to.equal(writers);
  });

  it('parallel patches all apply: no patch is applied to a stale version', async () => {
    const p = (
      await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'P', given: ['first'] }] } })
    ).body;
    const n = 8;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        fhirFetch(`${fhirUrl}/Patient/${p.id}`, {
          method: 'PATCH',
          raw: JSON.stringify([{ op: 'add', path: '/name/0/given/-', value: `g${i}` }]),
          headers: { 'content-type': 'application/json-patch+json' },
        }),
      ),
    );
    const now = (await fhirFetch<Patient>(`${fhirUrl}/Patient/${p.id}`)).body;
    expect(now.name?.[0].given).to.have.length(n + 1);
    expect(now.meta?.versionId).to.equal(String(n + 1));
  });

  it('parallel If-Match updates: exactly one wins, the others get 412', async () => {
    const p = (await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient' } })).body;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fhirFetch(`${fhirUrl}/Patient/${p.id}`, {
          method: 'PUT',
          body: { resourceType: 'Patient', id: p.id, gender: i % 2 ? 'male' : 'female' },
          headers: { 'if-match': 'W/"1"' },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).to.have.length(1);
    expect(statuses.filter((s) => s === 412)).to.have.length(5);
  });

  it('parallel update-as-create of one new id creates it once', async () => {
    const id = `race-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => fhirFetch(`${fhirUrl}/Patient/${id}`, { method: 'PUT', body: { resourceType: 'Patient', id } })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).to.have.length(1);
    expect(statuses.filter((s) => s === 200)).to.have.length(5);
    expect((await fhirFetch<Bundle>(`${fhirUrl}/Patient/${id}/_history`)).body.total).to.equal(6);
  });
});
