// Prefix semantics for values that are ranges (dates, numbers with implicit precision, quantities).
// Stored values are [lo, hi] ranges; the search value is the range `s` (eq/ne/ap) and for the
// ordering prefixes its bounds.
// See: https://hl7.org/fhir/R4/search.html#prefix and #date
import type { Document } from 'mongodb';
import type { Prefix } from './prefix.ts';

export interface SearchRange<T> {
  lo: T;
  hi: T;
}

/**
 * The condition for one prefixed value on stored fields loField/hiField. `approx` is the range
 * an `ap` value stands for (the caller decides how wide "approximately" is).
 */
export function rangeFilter<T>(loField: string, hiField: string, prefix: Prefix, s: SearchRange<T>, approx: SearchRange<T>): Document {
  const and = (...conds: Document[]): Document => {
    // Merge conditions on the same field ({ts: {$gte, $lte}}) so a single field stays one clause.
    const out: Document = {};
    for (const c of conds) {
      for (const [k, v] of Object.entries(c)) out[k] = out[k] ? { ...out[k], ...v } : v;
    }
    return out;
  };
  switch (prefix) {
    case 'eq': // the search range fully contains the target range
      return and({ [loField]: { $gte: s.lo } }, { [hiField]: { $lte: s.hi } });
    case 'ne': // some value is not inside the search range (per value: below it or above it)
      return { $or: [{ [loField]: { $lt: s.lo } }, { [hiField]: { $gt: s.hi } }] };
    case 'gt': // the target reaches above the search range
      return { [hiField]: { $gt: s.hi } };
    case 'lt':
      return { [loField]: { $lt: s.lo } };
    case 'ge':
      return { [hiField]: { $gte: s.lo } };
    case 'le':
      return { [loField]: { $lte: s.hi } };
    case 'sa': // starts after the search range ends
      return { [loField]: { $gt: s.hi } };
    case 'eb': // ends before the search range starts
      return { [hiField]: { $lt: s.lo } };
    case 'ap': // overlaps the widened range
      return and({ [loField]: { $lte: approx.hi } }, { [hiField]: { $gte: approx.lo } });
  }
}

/** A prefixed search value as ranges, in numbers (dates as epoch milliseconds). */
export interface RangeSpec {
  prefix: Prefix;
  s: SearchRange<number>;
  approx: SearchRange<number>;
  /** Quantities: the unit the value must have ("system|code", or a code or unit text). */
  unit?: string;
}

/** The prefixes whose condition has two bounds, which on several stored values could hold across two of them. */
export const TWO_BOUND_PREFIXES = new Set<Prefix>(['eq', 'ap']);
