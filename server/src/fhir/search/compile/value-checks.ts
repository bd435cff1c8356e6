// Conditions on parameters with several stored values that the database can only check across
// values. Two-bound prefixes (eq, ap): {lo: {$gte: a}, hi: {$lte: b}} holds when *some* value
// starts after a and *some* value ends before b, which can be two different ones (a Goal due in
// 2021 and in June 2024 is not due in March 2024). Quantities with a unit: the number can hold for
// one value and the unit for another (5 mg and 200 g are not "gt100 mg"). MongoDB would need
// $elemMatch on sub-documents, which FerretDB 1.x does not have, so the database condition stays a
// superset and the documents it returns with several values are checked here, value by value
// (quantities with units from the resource itself, as units are not stored per value). Documents
// with one value are exact already.
// See: https://hl7.org/fhir/R4/search.html#prefix ("a resource matches if any value matches")
import type { Document } from 'mongodb';
import type { SearchParam } from '../registry.ts';
import { numberIndex } from '../index-values/number-values.ts';
import { dateSpec } from './date-filter.ts';
import { numericSpec } from './number-filter.ts';
import { rangeMatches, TWO_BOUND_PREFIXES, type RangeSpec } from './range-filter.ts';

export interface ValueCheck {
  /** Document path of the parameter's index, e.g. "sp.target-date". */
  field: string;
  /** The criterion's values (ORed): a stored value matches when one of them does. */
  specs: RangeSpec[];
  /** Set when units are involved: the values are read from the resource with the parameter's expression. */
  param?: SearchParam;
}

/** The check a criterion needs, if any (date, number or quantity values with eq or ap, or with a unit). */
export function valueCheck(param: SearchParam, values: string[], name: string, field: string, modifier?: string): ValueCheck | undefined {
  if (modifier || !['date', 'number', 'quantity'].includes(param.type)) return undefined;
  const specs = values.map((v) => (param.type === 'date' ? dateSpec(v, name) : numericSpec(v, name)));
  if (specs.some((s) => s.unit !== undefined)) return { field, specs, param };
  return specs.some((s) => TWO_BOUND_PREFIXES.has(s.prefix)) ? { field, specs } : undefined;
}

const numeric = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

function indexAt(doc: Document, field: string): { lo?: unknown; hi?: unknown } | undefined {
  let v: unknown = doc;
  for (const part of field.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v && typeof v === 'object' ? (v as { lo?: unknown; hi?: unknown }) : undefined;
}

/** One stored value against the criterion's values. */
const matchesOne = (c: ValueCheck, lo: number, hi: number, units?: string[]): boolean =>
  c.specs.some((s) => rangeMatches(s, lo, hi) && (s.unit === undefined || (units ?? []).includes(s.unit)));

/** Whether a document the database returned really matches every check. */
export function passesChecks(doc: Document, checks: ValueCheck[]): boolean {
  for (const c of checks) {
    const idx = indexAt(doc, c.field);
    const lo = list(idx?.lo);
    const hi = list(idx?.hi);
    if (lo.length <= 1) continue; // one value: the database condition was exact
    let found = false;
    if (c.param) {
      // Units: each value of the resource on its own, indexed as the indexer does.
      let values: ReturnType<SearchParam['evaluate']>;
      try {
        values = c.param.evaluate((doc as { resource?: object }).resource ?? {});
      } catch {
        values = []; // the indexer stores nothing for such a resource either
      }
      for (const v of values) {
        const one = numberIndex([v], true);
        if (one && matchesOne(c, one.lo[0], one.hi[0], one.u)) {
          found = true;
          break;
        }
      }
    } else {
      for (let i = 0; i < lo.length && !found; i++) found = matchesOne(c, numeric(lo[i]), numeric(hi[i]));
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
    if (c.param) p.resource = 1;
  }
  return p;
}

/** Documents with several values in a checked field: the only ones a check can reject. */
export function severalValues(checks: ValueCheck[]): Document {
  const conds = checks.map((c) => ({ [`${c.field}.lo.1`]: { $exists: true } }));
  return conds.length === 1 ? conds[0] : { $or: conds };
}
