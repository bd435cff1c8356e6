// Two-bound prefixes (eq, ap) on parameters with several stored values. The database condition
// {lo: {$gte: a}, hi: {$lte: b}} holds when *some* value starts after a and *some* value ends
// before b, which on several values can be two different ones (a Goal due in January and in June
// is not due in March). MongoDB would need $elemMatch on sub-documents, which FerretDB 1.x does
// not have, so the database condition stays a superset and the documents it returns with several
// values are checked here, value by value. Documents with one value are exact already.
// See: https://hl7.org/fhir/R4/search.html#prefix ("a resource matches if any value matches")
import type { Document } from 'mongodb';
import type { SearchParam } from '../registry.ts';
import { dateSpec } from './date-filter.ts';
import { numericSpec } from './number-filter.ts';
import { rangeMatches, TWO_BOUND_PREFIXES, type RangeSpec } from './range-filter.ts';

export interface ValueCheck {
  /** Document path of the parameter's index, e.g. "sp.target-date". */
  field: string;
  /** The criterion's values (ORed): a stored value matches when one of them does. */
  specs: RangeSpec[];
}

/** The check a criterion needs, if any (date, number or quantity values with eq or ap). */
export function valueCheck(param: SearchParam, values: string[], name: string, field: string, modifier?: string): ValueCheck | undefined {
  if (modifier || !['date', 'number', 'quantity'].includes(param.type)) return undefined;
  const specs: RangeSpec[] = [];
  for (const v of values) {
    const spec = param.type === 'date' ? dateSpec(v, name) : numericSpec(v, name);
    if (!spec) return undefined; // a quantity with a unit: units are not stored per value
    specs.push(spec);
  }
  return specs.some((s) => TWO_BOUND_PREFIXES.has(s.prefix)) ? { field, specs } : undefined;
}

const numeric = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

function indexAt(doc: Document, field: string): { lo?: unknown; hi?: unknown } | undefined {
  let v: unknown = doc;
  for (const part of field.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v && typeof v === 'object' ? (v as { lo?: unknown; hi?: unknown }) : undefined;
}

/** Whether a document the database returned really matches every check. */
export function passesChecks(doc: Document, checks: ValueCheck[]): boolean {
  for (const c of checks) {
    const idx = indexAt(doc, c.field);
    const lo = list(idx?.lo);
    const hi = list(idx?.hi);
    if (lo.length <= 1) continue; // one value: the database condition was exact
    let found = false;
    for (let i = 0; i < lo.length && !found; i++) {
      found = c.specs.some((s) => rangeMatches(s, numeric(lo[i]), numeric(hi[i])));
    }
    if (!found) return false;
  }
  return true;
}

/** The fields a check reads, to add to a query's projection. */
export function checkProjection(checks: ValueCheck[]): Document {
  const p: Document = {};
  for (const c of checks) {
    p[`${c.field}.lo`] = 1;
    p[`${c.field}.hi`] = 1;
  }
  return p;
}

/** Documents with several values in a checked field: the only ones a check can reject. */
export function severalValues(checks: ValueCheck[]): Document {
  const conds = checks.map((c) => ({ [`${c.field}.lo.1`]: { $exists: true } }));
  return conds.length === 1 ? conds[0] : { $or: conds };
}
