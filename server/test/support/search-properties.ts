// Shared by the property tests of search (search-*-properties.test.ts): a seeded generator, loading
// the random fixtures in one transaction, and running queries against the expected hits of a model.
import { expect } from 'chai';
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4';
import { fhirFetch } from './http.ts';
import { testServer } from './test-server.ts';

/** mulberry32: a small seeded generator, so runs repeat. */
export function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}
export type Random = ReturnType<typeof generator>;

export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'] as const;
export type Prefix = (typeof PREFIXES)[number];

export interface PropertyFixture {
  /** A short name for messages (o3, g7). */
  key: string;
  /** What the values are, as written in the resource, for messages. */
  written: string;
  resource: FhirResource;
}

/** Creates the fixtures in one transaction; returns a function from a resource id to its fixture key. */
async function loadFixtures(fhirUrl: string, fixtures: PropertyFixture[]): Promise<(id: string) => string> {
  // Fixtures with an id are PUT under it (tests that order by id need to know it), others POSTed.
  const entry: BundleEntry[] = fixtures.map((f) => ({
    resource: f.resource,
    request: f.resource.id ? { method: 'PUT', url: `${f.resource.resourceType}/${f.resource.id}` } : { method: 'POST', url: f.resource.resourceType },
  }));
  const res = await fhirFetch<Bundle>(fhirUrl, { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry } });
  expect(res.status, res.text.slice(0, 500)).to.equal(200);
  const keys = new Map<string, string>();
  res.body.entry?.forEach((e, i) => {
    const id = /(?:^|\/)[A-Za-z]+\/([^/]+)\/_history\//.exec(e.response?.location ?? '')?.[1];
    expect(id, e.response?.location).to.be.a('string');
    keys.set(id as string, fixtures[i].key);
  });
  return (id) => keys.get(id) ?? `?${id}`;
}

export interface PropertyQuery {
  /** e.g. "date=ge2024-03" (the value not yet URL-encoded). */
  param: string;
  value: string;
  /** Keys of the fixtures the model says match. */
  expected: string[];
}

/**
 * Runs each query (restricted to the run's tag) and returns one line per query whose hits differ
 * from the model's, naming the missing and extra fixtures with their values.
 */
async function disagreements(
  fhirUrl: string,
  type: string,
  tag: string,
  keyOf: (id: string) => string,
  fixtures: PropertyFixture[],
  queries: PropertyQuery[],
): Promise<string[]> {
  const show = (k: string) => `${k} (${fixtures.find((f) => f.key === k)?.written})`;
  const out: string[] = [];
  for (const q of queries) {
    // _total=accurate: the count is a query of its own (countDocuments), checked against the same model.
    const url = `${fhirUrl}/${type}?${q.param}=${encodeURIComponent(q.value)}&_tag=${encodeURIComponent(tag)}&_count=200&_elements=id&_total=accurate`;
    const res = await fhirFetch<Bundle>(url);
    expect(res.status, `${type}?${q.param}=${q.value}: ${res.text.slice(0, 300)}`).to.equal(200);
    const actual = (res.body.entry ?? []).map((e) => keyOf(e.resource?.id ?? '')).sort();
    const expected = [...q.expected].sort();
    if (JSON.stringify(actual) === JSON.stringify(expected) && res.body.total === expected.length) continue;
    if (JSON.stringify(actual) === JSON.stringify(expected)) {
      out.push(`${q.param}=${q.value}: the right ${expected.length} entries, but total ${res.body.total}`);
      continue;
    }
    const missing = expected.filter((k) => !actual.includes(k));
    const extra = actual.filter((k) => !expected.includes(k));
    out.push(`${q.param}=${q.value}: missing ${missing.map(show).join('; ') || '-'}; extra ${extra.map(show).join('; ') || '-'}`);
  }
  return out;
}

/**
 * For a describe block: creates the fixtures (all tagged `tag`, "system|code") before its tests.
 * `check` runs queries of one type and fails with the queries whose hits differ from the model's.
 */
export function propertyFixtures(fixtures: PropertyFixture[], tag: string) {
  let fhirUrl = '';
  let keyOf: (id: string) => string = (id) => id;
  before(async () => {
    ({ fhirUrl } = await testServer());
    keyOf = await loadFixtures(fhirUrl, fixtures);
  });
  return {
    /** The FHIR base URL (known once the fixtures are loaded). */
    fhirUrl: () => fhirUrl,
    keyOf: (id: string) => keyOf(id),
    async check(type: string, queries: PropertyQuery[]): Promise<void> {
      const failures = await disagreements(fhirUrl, type, tag, keyOf, fixtures, queries);
      expect(failures, failures.slice(0, 8).join('\n')).to.deep.equal([]);
    },
  };
}
