// date parameters: each value becomes the instant range it denotes (a Period is its own range,
// open ends are unbounded; a Timing spans its events and bounds).
// See: https://hl7.org/fhir/R4/search.html#date
import type { TypedValue } from '../registry.ts';
import { MAX_INSTANT, MIN_INSTANT, parseDateRange, type InstantRange } from '../date-range.ts';
import { withPositions, type DateIndex } from './shapes.ts';

function ranges(v: TypedValue): InstantRange[] {
  const value = v.value;
  if (typeof value === 'string') {
    const r = parseDateRange(value);
    return r ? [r] : [];
  }
  if (!value || typeof value !== 'object') return [];
  const o = value as Record<string, unknown>;
  const period = (p: { start?: string; end?: string } | undefined): InstantRange[] => {
    if (!p || (!p.start && !p.end)) return [];
    const lo = p.start ? parseDateRange(p.start)?.lo : MIN_INSTANT;
    const hi = p.end ? parseDateRange(p.end)?.hi : MAX_INSTANT;
    return lo === undefined || hi === undefined ? [] : [{ lo, hi }];
  };
  switch (v.type) {
    case 'Period':
      return period(o as { start?: string; end?: string });
    case 'Timing': {
      const events = ((o.event as string[] | undefined) ?? []).flatMap((e) => {
        const r = parseDateRange(e);
        return r ? [r] : [];
      });
      const repeat = o.repeat as { boundsPeriod?: { start?: string; end?: string } } | undefined;
      return [...events, ...period(repeat?.boundsPeriod)];
    }
    default:
      return [];
  }
}

export function dateIndex(values: TypedValue[]): DateIndex | undefined {
  const all = values.flatMap(ranges);
  if (all.length === 0) return undefined;
  const index: DateIndex = {
    lo: all.map((r) => new Date(r.lo)),
    hi: all.map((r) => new Date(r.hi)),
    o: new Date(Math.min(...all.map((r) => r.lo))),
  };
  return withPositions(index, all.map((r) => ({ lo: new Date(r.lo), hi: new Date(r.hi) })));
}
