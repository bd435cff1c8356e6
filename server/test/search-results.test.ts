// How a searchset is put together: sorting, keyset paging that survives concurrent writes,
// totals, _summary/_elements, _include/_revinclude (with :iterate), unknown and malformed
// parameters, POST _search, and conditional create through the same matcher.
import { expect } from 'chai';
import type { Bundle, OperationOutcome, Patient, Resource } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';
import { authorizationFor } from './support/test-auth.ts';

const RUN = `res${Date.now().toString(36)}`;
const TAG = `urn:search-results|${RUN}`;

describe('FHIR search: results, paging and includes', () => {
  let fhirUrl = '';
  const ids: Record<string, string> = {};

  const create = async (name: string, resource: Record<string, unknown>) => {
    const body = { ...resource, meta: { tag: [{ system: 'urn:search-results', code: RUN }] } };
    const res = await fhirFetch<Resource>(`${fhirUrl}/${String(resource.resourceType)}`, { method: 'POST', body });
    expect(res.status, res.text.slice(0, 300)).to.equal(201);
    ids[name] = res.body.id ?? '';
    return ids[name];
  };
  const get = (path: string, headers: Record<string, string> = {}) =>
    fhirFetch<Bundle>(path.startsWith('http') ? path : `${fhirUrl}/${path}${path.includes('?') ? '&' : '?'}_tag=${encodeURIComponent(TAG)}`, { headers });
  const familyOf = (b: Bundle) => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => (e.resource as Patient).name?.[0]?.family);
  const linkOf = (b: Bundle, rel: string) => b.link?.find((l) => l.relation === rel)?.url;

  before(async () => {
    ({ fhirUrl } = await testServer());
    await create('org', { resourceType: 'Organization', name: 'Results Org' });
    await create('b', { resourceType: 'Patient', name: [{ family: 'Baker' }], birthDate: '1990-01-01', gender: 'male', managingOrganization: { reference: `Organization/${ids.org}` } });
    await create('d', { resourceType: 'Patient', name: [{ family: 'Dunn' }], birthDate: '1970-01-01', gender: 'female' });
    await create('c', { resourceType: 'Patient', name: [{ family: 'Clark' }], birthDate: '1990-01-01', gender: 'female' });
    await create('obs', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${ids.b}` } });
  });

  it('sorts by several keys, descending with "-", ties broken stably', async () => {
    const res = await get('Patient?_sort=-birthdate,family');
    expect(familyOf(res.body)).to.deep.equal(['Baker', 'Clark', 'Dunn']);
    const asc = await get('Patient?_sort=family');
    expect(familyOf(asc.body)).to.deep.equal(['Baker', 'Clark', 'Dunn']);
    const desc = await get('Patient?_sort=-family');
    expect(familyOf(desc.body)).to.deep.equal(['Dunn', 'Clark', 'Baker']);
  });

  it('pages with next/previous links that stay right while resources are added', async () => {
    const p1 = await get('Patient?_sort=family&_count=1');
    expect(familyOf(p1.body)).to.deep.equal(['Baker']);
    expect(linkOf(p1.body, 'previous')).to.equal(undefined);
    // A resource that sorts before the current position appears meanwhile; the next page is unchanged.
    await create('a', { resourceType: 'Patient', name: [{ family: 'Adams' }] });
    const p2 = await get(linkOf(p1.body, 'next') ?? 'missing');
    expect(familyOf(p2.body)).to.deep.equal(['Clark']);
    const p3 = await get(linkOf(p2.body, 'next') ?? 'missing');
    expect(familyOf(p3.body)).to.deep.equal(['Dunn']);
    expect(linkOf(p3.body, 'next')).to.equal(undefined);
    const back = await get(linkOf(p3.body, 'previous') ?? 'missing');
    expect(familyOf(back.body)).to.deep.equal(['Clark']);
    const back2 = await get(linkOf(back.body, 'previous') ?? 'missing');
    expect(familyOf(back2.body)).to.deep.equal(['Baker']);
    const back3 = await get(linkOf(back2.body, 'previous') ?? 'missing');
    expect(familyOf(back3.body)).to.deep.equal(['Adams']);
    expect(linkOf(back3.body, 'previous')).to.equal(undefined);
  });

  it('reports totals: accurate on request, free on a complete first page, count-only with _summary=count', async () => {
    const acc = await get('Patient?_count=1&_total=accurate');
    expect(acc.body.total).to.equal(4);
    expect(acc.body.entry).to.have.length(1);
    const none = await get('Patient?_count=1');
    expect(none.body.total).to.equal(undefined);
    const full = await get('Patient?gender=female');
    expect(full.body.total).to.equal(2);
    const count = await get('Patient?_summary=count');
    expect(count.body.total).to.equal(4);
    expect(count.body.entry ?? []).to.have.length(0);
  });

  it('returns only the requested elements with _elements, marked SUBSETTED', async () => {
    const res = await get(`Patient?_id=${ids.b}&_elements=birthDate`);
    const p = res.body.entry?.[0]?.resource as Patient;
    expect(p.birthDate).to.equal('1990-01-01');
    expect(p.name).to.equal(undefined);
    expect(p.meta?.tag?.map((t) => t.code)).to.include('SUBSETTED');
  });

  it('includes referenced and referencing resources, iterating when asked', async () => {
    const res = await get(`Observation?_id=${ids.obs}&_include=Observation:subject&_include:iterate=Patient:organization`);
    const inc = (res.body.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
    expect(inc.sort()).to.deep.equal([`Organization/${ids.org}`, `Patient/${ids.b}`].sort());
    const rev = await get(`Patient?_id=${ids.b}&_revinclude=Observation:patient`);
    expect((rev.body.entry ?? []).map((e) => `${e.search?.mode}:${e.resource?.id}`)).to.deep.equal([`match:${ids.b}`, `include:${ids.obs}`]);
    const noIter = await get(`Observation?_id=${ids.obs}&_include=Observation:subject&_include=Patient:organization`);
    expect((noIter.body.entry ?? []).filter((e) => e.search?.mode === 'include')).to.have.length(1);
  });

  it('ignores an unknown parameter and says so, or refuses it with Prefer: handling=strict', async () => {
    const lenient = await get('Patient?gender=male&no-such-param=1');
    expect(familyOf(lenient.body)).to.deep.equal(['Baker']);
    const oo = lenient.body.entry?.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
    expect(oo.issue[0].diagnostics).to.contain('no-such-param');
    const strict = await get('Patient?no-such-param=1', { prefer: 'handling=strict' });
    expect(strict.status).to.equal(400);
    expect((strict.body as unknown as OperationOutcome).issue[0].expression).to.deep.equal(['no-such-param']);
  });

  const malformed: Array<[string, string]> = [
    ['Patient?birthdate=2024-13-45', 'birthdate'],
    ['Patient?birthdate=xx2024', 'birthdate'],
    ['Observation?value-quantity=abc', 'value-quantity'],
    ['Observation?value-quantity=1|a|b|c', 'value-quantity'],
    ['Patient?_count=-1', '_count'],
    ['Patient?_sort=nope', '_sort'],
    ['Patient?family:regex=x', 'family:regex'],
    ['Patient?gender:missing=maybe', 'gender:missing'],
    ['Patient?_cursor=bm90LWEtY3Vyc29y', '_cursor'],
    ['Patient?_total=some', '_total'],
  ];
  for (const [query, param] of malformed) {
    it(`answers 400 naming ${param} for ${query}`, async () => {
      const res = await get(query);
      expect(res.status, res.text.slice(0, 300)).to.equal(400);
      const oo = res.body as unknown as OperationOutcome;
      expect(oo.resourceType).to.equal('OperationOutcome');
      expect(oo.issue[0].expression).to.deep.equal([param]);
    });
  }

  it('searches with POST _search and a form body', async () => {
    const res = await fetch(`${fhirUrl}/Patient/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/fhir+json', ...(await authorizationFor(fhirUrl)) },
      body: new URLSearchParams({ family: 'clark', _tag: TAG }).toString(),
    });
    expect(res.status).to.equal(200);
    expect(familyOf((await res.json()) as Bundle)).to.deep.equal(['Clark']);
  });

  it('conditional create finds the existing resource through search (If-None-Exist)', async () => {
    const res = await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: 'Dunn' }] },
      headers: { 'if-none-exist': `family:exact=Dunn&_tag=${encodeURIComponent(TAG)}` },
    });
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(ids.d);
  });
});
