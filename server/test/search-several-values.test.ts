// Quantity searches with a unit on parameters with several values: the number and the unit must
// hold for the same value (see fhir/search/compile/positions.ts). Own fixtures and tag, so the
// shared search table is not disturbed.
import { expect } from 'chai';
import type { Bundle, Observation } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

const RUN = `several${Date.now().toString(36)}`;
const UCUM = 'http://unitsofmeasure.org';

describe('FHIR search: several values per resource, quantities with units', () => {
  let fhirUrl: string;
  const ids: Record<string, string> = {};

  const observation = (name: string, components: Array<[number, string]>): Observation => ({
    resourceType: 'Observation',
    meta: { tag: [{ system: 'urn:search-test', code: RUN }] },
    status: 'final',
    code: { text: name },
    component: components.map(([value, unit], i) => ({ code: { text: `c${i}` }, valueQuantity: { value, unit, system: UCUM, code: unit } })),
  });

  before(async () => {
    ({ fhirUrl } = await testServer());
    const fixtures: Record<string, Observation> = {
      mixed: observation('mixed', [[5, 'mg'], [200, 'g']]),
      grams: observation('grams', [[150, 'g'], [3, 'g']]),
      single: observation('single', [[120, 'mg']]),
    };
    for (const [name, body] of Object.entries(fixtures)) {
      const res = await fhirFetch<Observation>(`${fhirUrl}/Observation`, { method: 'POST', body });
      expect(res.status).to.equal(201);
      ids[res.body.id ?? ''] = name;
    }
  });

  const search = async (query: string): Promise<string[]> => {
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Observation?${query}&_tag=urn:search-test|${RUN}`);
    expect(res.status, res.text.slice(0, 300)).to.equal(200);
    return (res.body.entry ?? []).map((e) => ids[e.resource?.id ?? ''] ?? '?').sort();
  };
  const q = (v: string) => `component-value-quantity=${encodeURIComponent(v)}`;

  for (const [query, expected] of [
    [q(`gt100|${UCUM}|mg`), ['single']], // "mixed" has 200 (g) and mg (5): not one value
    [q(`gt100|${UCUM}|g`), ['grams', 'mixed']],
    [q(`5|${UCUM}|mg`), ['mixed']],
    [q(`5||g`), []],
    [q(`lt10|${UCUM}|g`), ['grams']],
    [q(`lt10`), ['grams', 'mixed']],
    [q(`ne150|${UCUM}|g`), ['grams', 'mixed']],
    [`${q(`gt100|${UCUM}|mg`)},${encodeURIComponent(`5|${UCUM}|mg`)}`, ['mixed', 'single']],
  ] as Array<[string, string[]]>) {
    it(`${decodeURIComponent(query)} → ${expected.join(', ') || 'nothing'}`, async () => {
      expect(await search(query)).to.deep.equal(expected);
    });
  }

  it('counts only the resources whose one value has both the number and the unit', async () => {
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Observation?${q(`gt100|${UCUM}|mg`)}&_tag=urn:search-test|${RUN}&_summary=count`);
    expect(res.body.total).to.equal(1);
  });
});
