// String search on random names, checked against the FHIR rules: Patients with one to three
// names whose family names mix case, accents, spaces and characters that mean something to
// regular expressions or to FHIR search syntax (. * ( ) $ | , \). Searched by `family` with no
// modifier (starts with, ignoring case and accents), :contains (anywhere, ignoring case and
// accents) and :exact (as written), with values taken from the stored names (cut, re-cased,
// accents dropped) or made up. A resource matches when one of its names does.
// See: https://hl7.org/fhir/R4/search.html#string and #escaping
import { expect } from 'chai';
import type { Patient } from 'fhir/r4';
import { generator, propertyFixtures, type PropertyFixture, type Random } from './support/search-properties.ts';

const SEED = 20261121;
const RUN = `strings${Date.now().toString(36)}`;
const PIECES = ['Mü', 'ller', 'Ó', 'Brien', 'de la ', 'Cruz', 'smith', 'a.b', 'x*y', '(c)', '$n', 'q|r', 'k,l', 'b\\s', 'ß', 'ÉMILE', 'Zoë', 'Ångström', 'o', 'e'];

/** Case and accents ignored, runs of spaces as one (the FHIR default for strings). */
const loose = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
/** A search value as FHIR search syntax wants it: \ , $ | escaped with a backslash. */
const escaped = (s: string) => s.replace(/[\\,$|]/g, '\\$&');

interface Fixture extends PropertyFixture {
  families: string[];
  resource: Patient;
}

function randomFamily(rnd: Random): string {
  return Array.from({ length: rnd.int(1, 3) }, () => rnd.pick(PIECES)).join('');
}

function fixtures(rnd: Random): Fixture[] {
  return Array.from({ length: 30 }, (_, i) => {
    const families = Array.from({ length: rnd.int(1, 3) }, () => randomFamily(rnd));
    return {
      key: `p${i}`,
      families,
      written: families.join(' / '),
      resource: {
        resourceType: 'Patient',
        meta: { tag: [{ system: 'urn:search-test', code: RUN }] },
        name: families.map((family) => ({ family, given: ['Test'] })),
      },
    };
  });
}

/** A search text made from a stored name: a cut of it, maybe re-cased or without its accents. */
function fromStored(rnd: Random, family: string, wholeOrPart: 'start' | 'middle' | 'whole'): string {
  const from = wholeOrPart === 'middle' ? rnd.int(0, Math.max(0, family.length - 1)) : 0;
  const to = wholeOrPart === 'whole' ? family.length : rnd.int(from + 1, family.length);
  let s = family.slice(from, to);
  if (rnd.next() < 0.3) s = s.toUpperCase();
  if (rnd.next() < 0.3) s = s.normalize('NFD').replace(/\p{M}/gu, '');
  return s;
}

describe('FHIR search: string matching agrees with the FHIR rules on random names', () => {
  const rnd = generator(SEED);
  const data = fixtures(rnd);
  const server = propertyFixtures(data, `urn:search-test|${RUN}`);

  for (const modifier of ['', ':contains', ':exact'] as const) {
    it(`Patient?family${modifier}: 120 values from the stored names and made up match exactly the resources the rules pick`, async () => {
      const families = data.flatMap((f) => f.families);
      const queries = Array.from({ length: 120 }, (_, q) => {
        const shape = modifier === ':contains' ? 'middle' : modifier === ':exact' ? 'whole' : 'start';
        const text = q % 4 === 3 ? randomFamily(rnd).slice(0, rnd.int(1, 6)) : fromStored(rnd, rnd.pick(families), shape);
        const hit = (family: string) =>
          modifier === ':exact' ? family === text : modifier === ':contains' ? loose(family).includes(loose(text)) : loose(family).startsWith(loose(text));
        const expected = data.filter((f) => f.families.some(hit)).map((f) => f.key);
        return { param: `family${modifier}`, value: escaped(text), expected };
      });
      // The values must not all be trivial: some match a few patients, none match all.
      expect(queries.filter((q) => q.expected.length > 0 && q.expected.length < data.length).length).to.be.greaterThan(40);
      await server.check('Patient', queries);
    });
  }
});
