// date values: [prefix]date with the precision the value is written in.
// See: https://hl7.org/fhir/R4/search.html#date
import { badRequest } from '../../outcome.ts';
import { parseDateRange } from '../date-range.ts';
import { unescapeValue } from '../query/escaping.ts';
import { splitPrefix } from './prefix.ts';
import { rangeFilter, type RangeSpec, type SearchRange } from './range-filter.ts';
import type { ValueCompiler } from './value-context.ts';

/** `ap` on dates: 10% of the distance between now and the value, at least a day, on each side (HAPI's reading of the spec). */
function approxWidth(lo: number, now: number): number {
  return Math.max(Math.abs(now - lo) * 0.1, 86400000);
}

/** A date search value as ranges of epoch milliseconds. */
export function dateSpec(raw: string, name: string): RangeSpec {
  const { prefix, rest } = splitPrefix(unescapeValue(raw), name);
  const range = parseDateRange(rest);
  if (!range) throw badRequest(`${name}: "${raw}" is not a valid date (expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]])`, [name]);
  const w = approxWidth(range.lo, Date.now());
  return { prefix, s: { lo: range.lo, hi: range.hi }, approx: { lo: range.lo - w, hi: range.hi + w } };
}

export function dateCondition(raw: string, name: string, loField: string, hiField: string) {
  const { prefix, s, approx } = dateSpec(raw, name);
  const date = (r: SearchRange<number>) => ({ lo: new Date(r.lo), hi: new Date(r.hi) });
  return rangeFilter(loField, hiField, prefix, date(s), date(approx));
}

export const compileDate: ValueCompiler = (raw, ctx) => {
  if (ctx.modifier) throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not allowed on a date parameter`, [ctx.name]);
  return dateCondition(raw, ctx.name, `${ctx.field}.lo`, `${ctx.field}.hi`);
};
