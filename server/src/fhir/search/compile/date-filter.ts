// date values: [prefix]date with the precision the value is written in.
// See: https://hl7.org/fhir/R4/search.html#date
import { badRequest } from '../../outcome.ts';
import { parseDateRange } from '../date-range.ts';
import { unescapeValue } from '../query/escaping.ts';
import { splitPrefix } from './prefix.ts';
import { rangeFilter } from './range-filter.ts';
import type { ValueCompiler } from './value-context.ts';

/** `ap` on dates: 10% of the distance between now and the value, at least a day, on each side (HAPI's reading of the spec). */
function approxWidth(lo: number, now: number): number {
  return Math.max(Math.abs(now - lo) * 0.1, 86400000);
}

export function dateCondition(raw: string, name: string, loField: string, hiField: string) {
  const { prefix, rest } = splitPrefix(unescapeValue(raw), name);
  const range = parseDateRange(rest);
  if (!range) throw badRequest(`${name}: "${raw}" is not a valid date (expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]])`, [name]);
  const w = approxWidth(range.lo, Date.now());
  return rangeFilter(loField, hiField, prefix, { lo: new Date(range.lo), hi: new Date(range.hi) }, {
    lo: new Date(range.lo - w),
    hi: new Date(range.hi + w),
  });
}

export const compileDate: ValueCompiler = (raw, ctx) => {
  if (ctx.modifier) throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not allowed on a date parameter`, [ctx.name]);
  return dateCondition(raw, ctx.name, `${ctx.field}.lo`, `${ctx.field}.hi`);
};
