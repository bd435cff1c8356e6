// Date search, checked against the definitions rather than hand-picked cases: random dates,
// dateTimes (with zones) and Periods (open at either end), one value per Observation and several
// per Goal, searched with every prefix and random search values of every precision. The expected
// hits come from a small model of the FHIR rules written here from the specification, working on
// the date parts the generator chose (not on the server's parser):
// - every date is a range [lo, hi] of instants: "2024-03" is all of March; a time has a zone;
//   a date without a time is taken as UTC; a Period runs from its start's lo to its end's hi,
//   open ends unbounded;
// - eq: the search range contains the value's; ne: it does not; gt/lt: the value reaches above /
//   below the search range; ge/le: the value reaches into the search range or above / below it;
//   sa/eb: the value starts after / ends before the search range;
// - a resource with several values matches when one of its values does.
// See: https://hl7.org/fhir/R4/search.html#date and #prefix
// The generator is seeded, so a failure repeats; its message shows the query and the values.
import { expect } from 'chai';
import type { Goal, Observation, Period } from 'fhir/r4';
import { generator, PREFIXES, type Prefix, propertyFixtures, type PropertyFixture, type Random } from './support/search-properties.ts';

const SEED = 20261121;
const RUN = `dates${Date.now().toString(36)}`;

interface Range {
  lo: number;
  hi: number;
}

/** A date as written, and the range it stands for. */
interface DateValue extends Range {
  text: string;
  parts: Parts;
}

type Precision = 'year' | 'month' | 'day' | 'minute' | 'second' | 'millisecond';
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const daysIn = (y: number, m: number) => [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];

/** The parts of a date; a zone in minutes east of UTC (used when there is a time). */
interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ms: number;
  zone: number;
}

/**
 * Random parts around 2019–2025. Often the first or last instant of a month, or a whole second, so
 * that ranges share their bounds (a value that ends on the first millisecond of the search range,
 * or starts on its last), where off-by-one mistakes show.
 */
function randomParts(rnd: Random): Parts {
  const y = rnd.int(2019, 2025);
  const mo = rnd.int(1, 12);
  const shape = rnd.next();
  if (shape < 0.2) return { y, mo, d: 1, h: 0, mi: 0, s: 0, ms: 0, zone: 0 };
  if (shape < 0.35) return { y, mo, d: daysIn(y, mo), h: 23, mi: 59, s: 59, ms: 999, zone: 0 };
  const round = shape < 0.6;
  return {
    y,
    mo,
    d: rnd.int(1, daysIn(y, mo)),
    h: rnd.int(0, 23),
    mi: rnd.int(0, 59),
    s: round ? 0 : rnd.int(0, 59),
    ms: round ? 0 : rnd.int(0, 999),
    zone: rnd.pick([0, 120, -300, 330]),
  };
}

/** The date the parts make at a precision, written out, with its range worked out from the parts. */
function dateOf(p: Parts, precision: Precision): DateValue {
  const { y, mo, d, h, mi, s, ms, zone } = p;
  const zoneText = zone === 0 ? 'Z' : `${zone > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(zone) / 60))}:${pad(Math.abs(zone) % 60)}`;
  const utc = (...x: number[]) => Date.UTC(x[0], x[1] - 1, x[2] ?? 1, x[3] ?? 0, x[4] ?? 0, x[5] ?? 0, x[6] ?? 0);
  const day = `${y}-${pad(mo)}-${pad(d)}`;
  switch (precision) {
    case 'year':
      return { parts: p, text: `${y}`, lo: utc(y, 1), hi: utc(y + 1, 1) - 1 };
    case 'month':
      return { parts: p, text: `${y}-${pad(mo)}`, lo: utc(y, mo), hi: utc(y, mo, daysIn(y, mo)) + 86_400_000 - 1 };
    case 'day':
      return { parts: p, text: day, lo: utc(y, mo, d), hi: utc(y, mo, d) + 86_400_000 - 1 };
    case 'minute': {
      const lo = utc(y, mo, d, h, mi) - zone * 60_000;
      return { parts: p, text: `${day}T${pad(h)}:${pad(mi)}${zoneText}`, lo, hi: lo + 60_000 - 1 };
    }
    case 'second': {
      const lo = utc(y, mo, d, h, mi, s) - zone * 60_000;
      return { parts: p, text: `${day}T${pad(h)}:${pad(mi)}:${pad(s)}${zoneText}`, lo, hi: lo + 1000 - 1 };
    }
    case 'millisecond': {
      const lo = utc(y, mo, d, h, mi, s, ms) - zone * 60_000;
      return { parts: p, text: `${day}T${pad(h)}:${pad(mi)}:${pad(s)}.${pad(ms, 3)}${zoneText}`, lo, hi: lo };
    }
  }
}

const randomDate = (rnd: Random, precision: Precision) => dateOf(randomParts(rnd), precision);

/** The FHIR prefix rules on ranges (see the header). */
function matches(prefix: Prefix, v: Range, s: Range): boolean {
  switch (prefix) {
    case 'eq':
      return s.lo <= v.lo && v.hi <= s.hi;
    case 'ne':
      return !(s.lo <= v.lo && v.hi <= s.hi);
    case 'gt':
      return v.hi > s.hi;
    case 'lt':
      return v.lo < s.lo;
    case 'ge':
      return v.hi >= s.lo;
    case 'le':
      return v.lo <= s.hi;
    case 'sa':
      return v.lo > s.hi;
    case 'eb':
      return v.hi < s.lo;
  }
}

interface Fixture extends PropertyFixture {
  type: 'Observation' | 'Goal';
  values: Range[];
  /** The dates written in the resource, for search values that share their bounds. */
  dates: DateValue[];
  resource: Observation | Goal;
}

function fixtures(rnd: Random): Fixture[] {
  const tag = { system: 'urn:search-test', code: RUN };
  const out: Fixture[] = [];
  // Observations: one dateTime (a data dateTime with a time has seconds and a zone) or one Period.
  for (let i = 0; i < 36; i++) {
    const key = `o${i}`;
    const base = { resourceType: 'Observation' as const, meta: { tag: [tag] }, status: 'final' as const, code: { text: key } };
    if (rnd.next() < 0.5) {
      const v = randomDate(rnd, rnd.pick(['year', 'month', 'day', 'second', 'millisecond', 'millisecond'] as const));
      out.push({ key, type: 'Observation', values: [v], dates: [v], written: v.text, resource: { ...base, effectiveDateTime: v.text } });
      continue;
    }
    let a = randomDate(rnd, rnd.pick(['year', 'month', 'day', 'second'] as const));
    let b = randomDate(rnd, rnd.pick(['year', 'month', 'day', 'second'] as const));
    for (let tries = 0; b.lo < a.lo && tries < 20; tries++) b = randomDate(rnd, rnd.pick(['year', 'month', 'day', 'second'] as const));
    if (b.lo < a.lo) [a, b] = [b, a];
    const shape = rnd.pick(['both', 'both', 'start', 'end'] as const);
    const period: Period = {};
    if (shape !== 'end') period.start = a.text;
    if (shape !== 'start') period.end = b.text;
    const range = { lo: period.start ? a.lo : -Infinity, hi: period.end ? b.hi : Infinity };
    out.push({ key, type: 'Observation', values: [range], dates: [a, b], written: JSON.stringify(period), resource: { ...base, effectivePeriod: period } });
  }
  // Goals: one to four target dates (date precision), the several-values case.
  for (let i = 0; i < 16; i++) {
    const key = `g${i}`;
    const dates = Array.from({ length: rnd.int(1, 4) }, () => randomDate(rnd, rnd.pick(['year', 'month', 'day'] as const)));
    out.push({
      key,
      type: 'Goal',
      values: dates,
      dates,
      written: dates.map((d) => d.text).join(', '),
      resource: {
        resourceType: 'Goal',
        meta: { tag: [tag] },
        lifecycleStatus: 'active',
        description: { text: key },
        subject: { reference: 'Patient/example' },
        target: dates.map((d) => ({ dueDate: d.text })),
      },
    });
  }
  return out;
}

describe('FHIR search: date prefixes agree with the FHIR range rules on random data', () => {
  const rnd = generator(SEED);
  const data = fixtures(rnd);
  const server = propertyFixtures(data, `urn:search-test|${RUN}`);

  for (const [type, param, count] of [
    ['Observation', 'date', 240],
    ['Goal', 'target-date', 120],
  ] as const) {
    it(`${type}?${param}: ${count} random prefixed values match exactly the resources the rules pick`, async () => {
      const own = data.filter((f) => f.type === type);
      const queries = Array.from({ length: count }, (_, q) => {
        const prefix = PREFIXES[q % PREFIXES.length];
        // A third of the search values are random; a third are made of the parts of a stored date
        // (same or other precision); a third are the first or last millisecond of a stored date, or
        // the one just outside. Those meet stored ranges at their bounds, where off-by-one mistakes show.
        const kind = Math.floor(q / PREFIXES.length) % 3; // every prefix gets every kind of value
        const dates = own.flatMap((f) => f.dates);
        let s: DateValue;
        if (kind === 0) s = randomDate(rnd, rnd.pick(['year', 'month', 'day', 'minute', 'second', 'millisecond'] as const));
        else if (kind === 1) s = dateOf(rnd.pick(dates).parts, rnd.pick(['year', 'month', 'day', 'minute', 'second'] as const));
        else {
          const d = rnd.pick(dates);
          const t = rnd.pick([d.lo, d.hi]) + rnd.pick([0, 0, -1, 1]);
          s = { parts: d.parts, text: new Date(t).toISOString(), lo: t, hi: t };
        }
        const expected = own.filter((f) => f.values.some((v) => matches(prefix, v, s))).map((f) => f.key);
        return { param, value: `${prefix}${s.text}`, expected };
      });
      await server.check(type, queries);
    });
  }

  it('the random data covers every prefix with both hits and misses', () => {
    // Guards the test itself: with too narrow data every query would trivially agree.
    for (const prefix of PREFIXES) {
      const s = { lo: Date.UTC(2022, 0, 1), hi: Date.UTC(2023, 0, 1) - 1 };
      const n = data.filter((f) => f.values.some((v) => matches(prefix, v, s))).length;
      expect(n, prefix).to.be.greaterThan(0);
      expect(n, prefix).to.be.lessThan(data.length);
    }
  });
});
