// Sorting and paging on random data, checked against a model of the order: Observations on a few
// days (many ties), some without a date, sorted by date, -date, _id, -_id and combinations, read
// page by page with every page size through the `next` links, then back through `previous`.
// The order: by each sort key in turn (the earliest date of a resource; resources without one
// first when ascending, last when descending), ties by id, ascending. Then a search that changes
// under the reader: resources added and deleted between two pages show up (or not) exactly as
// their place in the order says, with no entry repeated or skipped.
// See: https://hl7.org/fhir/R4/search.html#sort and https://hl7.org/fhir/R4/http.html#paging
import { expect } from 'chai';
import type { Bundle, Observation } from 'fhir/r4';
import { fhirFetch } from './support/http.ts';
import { generator, propertyFixtures, type PropertyFixture, type Random } from './support/search-properties.ts';

const SEED = 20261121;
const RUN = `paging${Date.now().toString(36)}`;
const TAG = `urn:search-test|${RUN}`;
const DAYS = ['2024-01-05', '2024-01-06', '2024-02-01', '2024-03-15'];

interface Fixture extends PropertyFixture {
  id: string;
  /** Epoch ms of the date, or undefined when the Observation has none. */
  date?: number;
  resource: Observation;
}

function observation(id: string, day: string | undefined, tag = RUN): Observation {
  return {
    resourceType: 'Observation',
    id,
    meta: { tag: [{ system: 'urn:search-test', code: tag }] },
    status: 'final',
    code: { text: 'paging' },
    ...(day ? { effectiveDateTime: day } : {}),
  };
}

function fixtures(rnd: Random): Fixture[] {
  return Array.from({ length: 45 }, (_, i) => {
    const id = `${RUN}-${i.toString(36)}`;
    const day = rnd.next() < 0.2 ? undefined : rnd.pick(DAYS);
    return { key: id, id, date: day ? Date.parse(`${day}T00:00:00Z`) : undefined, written: day ?? 'no date', resource: observation(id, day) };
  });
}

type SortKey = { by: 'date' | '_id'; descending: boolean };

/** The order of the model: each key in turn (missing dates first ascending, last descending), then id. */
function ordered(items: Array<{ id: string; date?: number }>, keys: SortKey[]): string[] {
  const cmpKey = (a: { id: string; date?: number }, b: { id: string; date?: number }, k: SortKey): number => {
    let c: number;
    if (k.by === '_id') c = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    else if (a.date === undefined || b.date === undefined) c = a.date === b.date ? 0 : a.date === undefined ? -1 : 1;
    else c = a.date - b.date;
    return k.descending ? -c : c;
  };
  return [...items]
    .sort((a, b) => {
      for (const k of keys) {
        const c = cmpKey(a, b, k);
        if (c !== 0) return c;
      }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    })
    .map((x) => x.id);
}

const parseSort = (sort: string): SortKey[] =>
  sort.split(',').map((s) => ({ by: s.replace(/^-/, '') as SortKey['by'], descending: s.startsWith('-') }));

async function page(url: string): Promise<{ ids: string[]; next?: string; previous?: string }> {
  const res = await fhirFetch<Bundle>(url);
  expect(res.status, res.text.slice(0, 300)).to.equal(200);
  const link = (rel: string) => res.body.link?.find((l) => l.relation === rel)?.url;
  return { ids: (res.body.entry ?? []).map((e) => e.resource?.id ?? '?'), next: link('next'), previous: link('previous') };
}

/** Every page forwards from the first, then every page backwards from the last. */
async function readAll(first: string): Promise<{ forwards: string[]; backwards: string[]; pages: number }> {
  const forwards: string[] = [];
  let url: string | undefined = first;
  let last: Awaited<ReturnType<typeof page>> | undefined;
  let pages = 0;
  while (url) {
    last = await page(url);
    forwards.push(...last.ids);
    url = last.next;
    if (++pages > 100) throw new Error('more than 100 pages: the next links go round in circles');
  }
  // Back from the last page: each previous page ends where the page after it starts.
  const backwards = [...(last?.ids ?? [])];
  url = last?.previous;
  for (let n = 0; url; n++) {
    const p = await page(url);
    backwards.unshift(...p.ids);
    url = p.previous;
    if (n > 100) throw new Error('more than 100 previous pages');
  }
  return { forwards, backwards, pages };
}

describe('FHIR search: sorting and paging agree with a model of the order', () => {
  const rnd = generator(SEED);
  const data = fixtures(rnd);
  const server = propertyFixtures(data, TAG);

  for (const sort of ['date', '-date', '_id', '-_id', 'date,-_id', '-date,_id']) {
    it(`_sort=${sort}: every page size reads every entry once, in order, forwards and backwards`, async () => {
      const expected = ordered(data, parseSort(sort));
      for (const count of [1, 4, 7, 44, 45, 100]) {
        const url = `${server.fhirUrl()}/Observation?_tag=${encodeURIComponent(TAG)}&_sort=${sort}&_count=${count}&_elements=id`;
        const { forwards, backwards, pages } = await readAll(url);
        expect(forwards, `_count=${count} forwards`).to.deep.equal(expected);
        expect(backwards, `_count=${count} backwards`).to.deep.equal(expected);
        expect(pages, `_count=${count} pages`).to.equal(Math.max(1, Math.ceil(expected.length / count)));
      }
    });
  }

  it('a search read while resources are added and deleted continues exactly after its last entry', async () => {
    const run = `${RUN}c`;
    const tag = `urn:search-test|${run}`;
    const items = Array.from({ length: 12 }, (_, i) => ({ id: `${run}-${i.toString(36)}`, day: rnd.pick(DAYS) }));
    const put = async (id: string, day: string) => {
      const res = await fhirFetch(`${server.fhirUrl()}/Observation/${id}`, { method: 'PUT', body: observation(id, day, run) });
      expect(res.status).to.be.oneOf([200, 201]);
    };
    for (const it of items) await put(it.id, it.day);
    const current = new Map(items.map((i) => [i.id, Date.parse(`${i.day}T00:00:00Z`)]));
    const keys = parseSort('-date');
    const modelOrder = () => ordered([...current].map(([id, date]) => ({ id, date })), keys);

    const first = await page(`${server.fhirUrl()}/Observation?_tag=${encodeURIComponent(tag)}&_sort=-date&_count=5&_elements=id`);
    expect(first.ids).to.deep.equal(modelOrder().slice(0, 5));
    const boundary = first.ids[4];

    // Between the pages: one added before the boundary (must not appear), one after it (must),
    // one not yet read deleted (must not appear), one already read deleted (no effect).
    const before = `${run}-before`;
    const after = `${run}-after`;
    await put(before, '2030-01-01'); // newest: sorts first under -date
    await put(after, '2000-01-01'); // oldest: sorts last
    current.set(before, Date.parse('2030-01-01T00:00:00Z'));
    current.set(after, Date.parse('2000-01-01T00:00:00Z'));
    const unread = modelOrder().filter((id) => !first.ids.includes(id) && id !== before && id !== after)[2];
    for (const gone of [unread, first.ids[1]]) {
      expect((await fhirFetch(`${server.fhirUrl()}/Observation/${gone}`, { method: 'DELETE' })).status).to.be.oneOf([200, 204]);
      current.delete(gone);
    }

    const rest: string[] = [];
    for (let url = first.next; url; ) {
      const p = await page(url);
      rest.push(...p.ids);
      url = p.next;
    }
    const order = modelOrder();
    // What follows the boundary in the order as it is now (the boundary's place is fixed by its own
    // sort values, which have not changed).
    const boundaryDate = current.get(boundary) as number;
    const expectedRest = order.filter((id) => {
      const d = current.get(id) as number;
      return d < boundaryDate || (d === boundaryDate && id > boundary);
    });
    expect(rest).to.deep.equal(expectedRest);
    expect(rest).to.include(after);
    expect(rest).to.not.include(before);
    expect(rest).to.not.include(unread);
    expect(new Set([...first.ids, ...rest]).size).to.equal(first.ids.length + rest.length);
  });
});
