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
    case 'ne':
      return { [loField]: { $exists: true }, $nor: [and({ [loField]: { $gte: s.lo } }, { [hiField]: { $lte: s.hi } })] };
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
