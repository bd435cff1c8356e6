// number and quantity parameters: a stored value is a point (lo = hi) or, for a Range, its bounds;
// quantities also record their units so "5|http://unitsofmeasure.org|mg" can require them.
// See: https://hl7.org/fhir/R4/search.html#number and #quantity
import type { TypedValue } from '../registry.ts';
import type { NumberIndex } from './shapes.ts';

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
  const lo: number[] = [];
  const hi: number[] = [];
  const u = new Set<string>();
  for (const v of values) {
    const value = v.value;
    if (typeof value === 'number') {
      lo.push(value);
      hi.push(value);
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    if (v.type === 'Range') {
      const r = value as { low?: Q; high?: Q };
      if (typeof r.low?.value !== 'number' && typeof r.high?.value !== 'number') continue;
      lo.push(r.low?.value ?? -Number.MAX_VALUE);
      hi.push(r.high?.value ?? Number.MAX_VALUE);
      units(r.low, u);
      units(r.high, u);
      continue;
    }
    const q = value as Q;
    if (typeof q.value !== 'number') continue;
    lo.push(q.value);
    hi.push(q.value);
    units(q, u);
  }
  if (lo.length === 0) return undefined;
  const out: NumberIndex = { lo, hi, o: Math.min(...lo) };
  if (withUnits && u.size > 0) out.u = [...u];
  return out;
}
