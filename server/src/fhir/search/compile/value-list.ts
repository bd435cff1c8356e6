// "Field equals one of these values": the one place such conditions are written, because their
// shape decides what the local database does with them.
//
// The local database (FerretDB with our pushdown patch, server/src/db/ferretdb-patches/) checks
// {dotted.path: {$in: [...]}} in SQL with one text search of the whole stored document per value
// (instr), for every document of the collection, so its cost grows with the list; left to
// FerretDB's own filter, a document is decoded once and the list checked in memory. Measured on
// 8,705 Observations (sp.code.c, no match): 1 value 0.36 s in SQL / 0.61 s decoded; 4 values
// 0.79 / 0.78 s; 8 values 1.7 / 0.88 s; 32 values 4.9 / 0.77 s (and `Observation?focus=a,b,c`,
// each id then a list of 145 references, 80 s). So a list on a dotted path longer than LOCAL_SQL_VALUES is written with
// `$exists: true` beside the `$in`: the same condition for any MongoDB (a field that equals a
// value exists), which the pushdown does not take (it takes a lone $in). Lists on top-level
// fields (_id, the patient partition key) are answered from indexes and stay as they are.
import type { Document } from 'mongodb';

/** Longest value list on a dotted path worth checking in the local database's SQL (see above). */
export const LOCAL_SQL_VALUES = 4;

/** `field` equals one of `values` (one value: a plain equality). */
export function anyOf(field: string, values: string[]): Document {
  const list = [...new Set(values)];
  if (list.length === 1) return { [field]: list[0] };
  // $exists first: FerretDB checks the operators in order and stops at the first that fails.
  if (field.includes('.') && list.length > LOCAL_SQL_VALUES) return { [field]: { $exists: true, $in: list } };
  return { [field]: { $in: list } };
}

/** The values of a condition written by anyOf (or a plain equality on a string); undefined for any other condition. */
export function valuesOf(cond: Document, field: string): string[] | undefined {
  const keys = Object.keys(cond);
  if (keys.length !== 1 || keys[0] !== field) return undefined;
  const v = cond[field] as unknown;
  if (typeof v === 'string') return [v];
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const ops = Object.keys(v);
  const list = (v as { $in?: unknown }).$in;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return undefined;
  if (ops.length === 1 || (ops.length === 2 && (v as { $exists?: unknown }).$exists === true)) return list as string[];
  return undefined;
}
