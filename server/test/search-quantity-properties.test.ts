// Quantity search, checked against the definitions on random data: Observations with one value
// (value-quantity) or several (component-value-quantity), in mg or g, searched with every prefix,
// with and without a unit. The expected hits come from a model of the FHIR rules written here,
// in exact decimal arithmetic (values as integers of 10⁻⁶):
// - a search number stands for the range its precision implies: "100" is [99.5, 100.5), "5.40" is
//   [5.395, 5.405), "1e2" is [95, 105); eq: the stored value is in that range; ne: it is not;
// - gt/lt/ge/le compare with the number itself ("gt100": greater than exactly 100); sa/eb likewise
//   (a stored value is a point: it starts after / ends before the number);
// - with a unit (number|system|code, or number||code), the number and the unit hold for one value;
// - a resource with several values matches when one of them does.
// See: https://hl7.org/fhir/R4/search.html#number, #quantity and #prefix
// Seeded, so a failure repeats; its message shows the query and the values.
import { expect } from 'chai';
import type { Observation, Quantity } from 'fhir/r4';
import { generator, PREFIXES, type Prefix, propertyFixtures, type PropertyFixture, type Random } from './support/search-properties.ts';

const SEED = 20261121;
const RUN = `quantities${Date.now().toString(36)}`;
const UCUM = 'http://unitsofmeasure.org';
const SCALE = 6; // model numbers are integers of 10^-6

/** A number as written ("12.345", "1.2e2") and its exact value in units of 10^-6. */
interface Written {
  text: string;
  micro: bigint;
  /** Half the unit of the last significant digit, in 10^-6 (the implied precision). */
  half: bigint;
}

function written(text: string): Written {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(text);
  if (!m) throw new Error(`not a number: ${text}`);
  const decimals = m[2]?.length ?? 0;
  const exponent = Number(m[3] ?? 0);
  // value = digits × 10^(exponent − decimals); in 10^-6 units: digits × 10^(exponent − decimals + SCALE)
  const shift = exponent - decimals + SCALE;
  const digits = BigInt(m[1] + (m[2] ?? ''));
  if (shift < 1) throw new Error(`too precise for the model: ${text}`);
  return { text, micro: digits * 10n ** BigInt(shift), half: 5n * 10n ** BigInt(shift - 1) };
}

/** A random decimal 0–300 with 0–3 decimals, often ending in 5 (so it lies on a precision bound). */
function randomNumber(rnd: Random): Written {
  const decimals = rnd.int(0, 3);
  let digits = String(rnd.int(0, 300 * 10 ** decimals));
  if (decimals > 0 && rnd.next() < 0.4) digits = digits.slice(0, -1) + '5';
  const padded = digits.padStart(decimals + 1, '0');
  const text = decimals ? `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}` : padded;
  return written(text.replace(/^0+(?=\d)/, ''));
}

interface StoredQuantity {
  value: Written;
  unit: 'mg' | 'g';
}

/** The FHIR rules for one stored value (a point) against a prefixed search number. */
function matches(prefix: Prefix, v: bigint, s: Written): boolean {
  const inRange = s.micro - s.half <= v && v < s.micro + s.half;
  switch (prefix) {
    case 'eq':
      return inRange;
    case 'ne':
      return !inRange;
    case 'gt':
    case 'sa':
      return v > s.micro;
    case 'lt':
    case 'eb':
      return v < s.micro;
    case 'ge':
      return v >= s.micro;
    case 'le':
      return v <= s.micro;
  }
}

interface Fixture extends PropertyFixture {
  /** value-quantity (one value) or component-value-quantity (several). */
  param: 'value-quantity' | 'component-value-quantity';
  values: StoredQuantity[];
  resource: Observation;
}

function fixtures(rnd: Random): Fixture[] {
  const tag = { system: 'urn:search-test', code: RUN };
  const quantity = (q: StoredQuantity): Quantity => ({ value: Number(q.value.text), unit: q.unit, system: UCUM, code: q.unit });
  const stored = (): StoredQuantity => ({ value: randomNumber(rnd), unit: rnd.pick(['mg', 'mg', 'g'] as const) });
  const out: Fixture[] = [];
  for (let i = 0; i < 40; i++) {
    const key = `q${i}`;
    const base: Observation = { resourceType: 'Observation', meta: { tag: [tag] }, status: 'final', code: { text: key } };
    if (i % 2 === 0) {
      const q = stored();
      out.push({ key, param: 'value-quantity', values: [q], written: `${q.value.text} ${q.unit}`, resource: { ...base, valueQuantity: quantity(q) } });
      continue;
    }
    const qs = Array.from({ length: rnd.int(1, 4) }, stored);
    out.push({
      key,
      param: 'component-value-quantity',
      values: qs,
      written: qs.map((q) => `${q.value.text} ${q.unit}`).join(', '),
      resource: { ...base, component: qs.map((q, n) => ({ code: { text: `c${n}` }, valueQuantity: quantity(q) })) },
    });
  }
  return out;
}

/** Another way to write the same number: fewer decimals (a wider range), more, or exponent form. */
function rewritten(rnd: Random, w: Written): Written {
  const [int, frac = ''] = w.text.split('.');
  switch (rnd.int(0, 3)) {
    case 0:
      return frac ? written(frac.length > 1 ? `${int}.${frac.slice(0, -1)}` : int) : w;
    case 1:
      return written(`${int}.${frac}0`);
    case 2:
      return /^[1-9]\d{1,2}$/.test(w.text) ? written(`${w.text[0]}.${w.text.slice(1)}e${w.text.length - 1}`) : w;
    default:
      return w;
  }
}

describe('FHIR search: quantity prefixes agree with the FHIR rules on random data', () => {
  const rnd = generator(SEED);
  const data = fixtures(rnd);
  const server = propertyFixtures(data, `urn:search-test|${RUN}`);

  for (const param of ['value-quantity', 'component-value-quantity'] as const) {
    it(`Observation?${param}: 240 random prefixed values, with and without units, match exactly the resources the rules pick`, async () => {
      const own = data.filter((f) => f.param === param);
      const queries = Array.from({ length: 240 }, (_, q) => {
        const prefix = PREFIXES[q % PREFIXES.length];
        // Half random numbers, half stored numbers written another way (so values lie on bounds).
        const kind = Math.floor(q / PREFIXES.length) % 2;
        const s = kind === 0 ? randomNumber(rnd) : rewritten(rnd, rnd.pick(own.flatMap((f) => f.values)).value);
        const unitForm = rnd.pick(['none', 'none', 'system', 'code'] as const);
        const unit = unitForm === 'none' ? undefined : rnd.pick(['mg', 'g'] as const);
        const value = `${prefix}${s.text}${unitForm === 'system' ? `|${UCUM}|${unit}` : unitForm === 'code' ? `||${unit}` : ''}`;
        const expected = own
          .filter((f) => f.values.some((v) => (!unit || v.unit === unit) && matches(prefix, v.value.micro, s)))
          .map((f) => f.key);
        return { param, value, expected };
      });
      await server.check('Observation', queries);
    });
  }

  it('the model reads written numbers with their precision', () => {
    expect(written('100')).to.deep.include({ micro: 100_000_000n, half: 500_000n });
    expect(written('5.40')).to.deep.include({ micro: 5_400_000n, half: 5_000n });
    expect(written('1.5e2')).to.deep.include({ micro: 150_000_000n, half: 5_000_000n });
    expect(matches('eq', 100_500_000n, written('100'))).to.equal(false);
    expect(matches('eq', 99_500_000n, written('100'))).to.equal(true);
  });
});
