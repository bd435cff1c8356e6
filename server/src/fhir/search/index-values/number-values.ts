// number and quantity parameters: a stored value is a point (lo = hi) or, for a Range, its bounds;
// quantities also record their units so "5|http://unitsofmeasure.org|mg" can require them.
// See: https://hl7.org/fhir/R4/search.html#number and #quantity
import type { TypedValue } from '../registry.ts';
import { withPositions, type NumberIndex, type ValueAt } from './shapes.ts';

interface Q {
  value?: number;
  unit?: string;
  system?: string;
  code?: string;
  currency?: string;
}

function units(q: Q | undefined, into: Set<string>): void {
  if (!q) return;
  if (q.code) {
    into.add(q.code);
    into.add(`${q.system ?? ''}|${q.code}`);
  }
  if (q.unit) into.add(q.unit);
  if (q.currency) {
    into.add(q.currency);
    into.add(`urn:iso:std:iso:4217|${q.currency}`);
  }
}

export function numberIndex(values: TypedValue[], withUnits: boolean): NumberIndex | undefined {
  const each: Array<ValueAt<number>> = [];
  for (const v of values) {
    const value = v.value;
    if (typeof value === 'number') {
      each.push({ lo: value, hi: value });
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    const u = new Set<string>();
    if (v.type === 'Range') {
      const r = value as { low?: Q; high?: Q };
      if (typeof r.low?.value !== 'number' && typeof r.high?.value !== 'number') continue;
      units(r.low, u);
      units(r.high, u);
      each.push({ lo: r.low?.value ?? -Number.MAX_VALUE, hi: r.high?.value ?? Number.MAX_VALUE, ...unitsOf(u, withUnits) });
      continue;
    }
    const q = value as Q;
    if (typeof q.value !== 'number') continue;
    units(q, u);
    each.push({ lo: q.value, hi: q.value, ...unitsOf(u, withUnits) });
  }
  if (each.length === 0) return undefined;
  const out: NumberIndex = { lo: each.map((e) => e.lo), hi: each.map((e) => e.hi), o: Math.min(...each.map((e) => e.lo)) };
  const all = new Set(each.flatMap((e) => e.u ?? []));
  if (all.size > 0) out.u = [...all];
  return withPositions(out, each);
}

const unitsOf = (u: Set<string>, withUnits: boolean): { u?: string[] } => (withUnits && u.size > 0 ? { u: [...u] } : {});
