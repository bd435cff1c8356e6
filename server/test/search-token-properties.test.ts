// Token search on random codes, checked against the FHIR rules: Observations whose code has one to
// three codings (from three systems, or none), with codes that differ only in case or that hold
// FHIR-syntax characters. Searched as `code` (any system), `system|code`, `|code` (no system),
// `system|` (any code of the system), several of them OR-ed with commas, and with :not (every
// resource without a matching coding, including resources without a code).
// See: https://hl7.org/fhir/R4/search.html#token
import type { Coding, Observation } from 'fhir/r4';
import { generator, propertyFixtures, type PropertyFixture, type Random } from './support/search-properties.ts';

const SEED = 20261121;
const RUN = `tokens${Date.now().toString(36)}`;
const SYSTEMS = ['http://loinc.org', 'http://snomed.info/sct', 'urn:oid:1.2.3'];
const CODES = ['2345-7', '4548-4', 'A1', 'a1', 'x|y', 'p,q', 'd$e', '718-7'];

interface Fixture extends PropertyFixture {
  codings: Coding[];
  resource: Observation;
}

function fixtures(rnd: Random): Fixture[] {
  return Array.from({ length: 40 }, (_, i) => {
    const codings: Coding[] =
      i % 10 === 9 ? [] : Array.from({ length: rnd.int(1, 3) }, () => (rnd.next() < 0.15 ? { code: rnd.pick(CODES) } : { system: rnd.pick(SYSTEMS), code: rnd.pick(CODES) }));
    const resource: Observation = {
      resourceType: 'Observation',
      meta: { tag: [{ system: 'urn:search-test', code: RUN }] },
      status: 'final',
      // An Observation needs a code: those meant to have none get text only.
      code: codings.length ? { coding: codings } : { text: 'no coding' },
    };
    return { key: `o${i}`, codings, written: codings.map((c) => `${c.system ?? '(none)'}|${c.code}`).join(', ') || '-', resource };
  });
}

type TokenForm = 'code' | 'system|code' | '|code' | 'system|';
const escaped = (s: string) => s.replace(/[\\,$|]/g, '\\$&');

/** One token search value, as FHIR syntax, and the rule for a coding to match it. */
function randomToken(rnd: Random): { text: string; match: (c: Coding) => boolean } {
  const form = rnd.pick(['code', 'system|code', 'system|code', '|code', 'system|'] as const satisfies readonly TokenForm[]);
  const system = rnd.pick(SYSTEMS);
  const code = rnd.pick(CODES);
  switch (form) {
    case 'code':
      return { text: escaped(code), match: (c) => c.code === code };
    case 'system|code':
      return { text: `${escaped(system)}|${escaped(code)}`, match: (c) => c.system === system && c.code === code };
    case '|code':
      return { text: `|${escaped(code)}`, match: (c) => c.system === undefined && c.code === code };
    case 'system|':
      return { text: `${escaped(system)}|`, match: (c) => c.system === system };
  }
}

describe('FHIR search: token matching agrees with the FHIR rules on random codes', () => {
  const rnd = generator(SEED);
  const data = fixtures(rnd);
  const server = propertyFixtures(data, `urn:search-test|${RUN}`);

  for (const modifier of ['', ':not'] as const) {
    it(`Observation?code${modifier}: 150 random values (one to three OR-ed) match exactly the resources the rules pick`, async () => {
      const queries = Array.from({ length: 150 }, () => {
        const tokens = Array.from({ length: rnd.pick([1, 1, 1, 2, 3]) }, () => randomToken(rnd));
        const has = (f: Fixture) => f.codings.some((c) => tokens.some((t) => t.match(c)));
        const expected = data.filter((f) => (modifier === ':not' ? !has(f) : has(f))).map((f) => f.key);
        // The value is already in FHIR syntax (escaped); the helper only URL-encodes it.
        return { param: `code${modifier}`, value: tokens.map((t) => t.text).join(','), expected };
      });
      await server.check('Observation', queries);
    });
  }
});
