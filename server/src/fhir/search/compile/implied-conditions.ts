// Conditions of a conjunction that another one already implies, left out before the query goes to
// the database. The case that matters: a patient's token restricts every search to the patient's
// compartment — `{$or: [{patient: X}, {patients: X}]}` (access/access-policy.ts) — and the portal's
// searches of the patient's own records already pin the partition key `{patient: X}`. Sent as it
// is, the database evaluates the $or for every row the partition key selects: on the local
// database (FerretDB/SQLite) about 0.6 ms of its CPU per search, a third of a small search.
//
// Only exact absorption is applied, which holds for any query language with AND and OR:
// A ∧ (A ∨ B) = A, and A ∧ A = A. "Exact" means the same field and a structurally equal value
// (same types: a Date and its ISO string are different MongoDB conditions), so no result changes.
import type { Document } from 'mongodb';

/** Structural equality of condition values (primitives, Dates, arrays, plain objects; key order ignored). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Document)[k], (b as Document)[k]));
}

/** True when `cond` is implied by one of the single-field conditions in `others`. */
function implied(cond: Document, others: Document[]): boolean {
  const keys = Object.keys(cond);
  if (keys.length === 1 && keys[0] === '$or' && Array.isArray(cond.$or)) {
    // A ∧ (A ∨ B): some branch is itself one of the other conditions.
    return (cond.$or as Document[]).some((branch) => others.some((o) => sameCondition(o, branch)));
  }
  return false;
}

/** The same condition document (every field with a structurally equal value). */
const sameCondition = (a: Document, b: Document): boolean => sameValue(a, b);

/**
 * The conjuncts without those the others imply: exact duplicates (the first stays) and $or
 * conditions one of whose branches is, field for field, among the other conjuncts' fields.
 */
export function withoutImplied(conds: Document[]): Document[] {
  if (conds.length < 2) return conds;
  // Single-field parts of every conjunct: `{patient: X, code: Y}` implies `{patient: X}`.
  const parts = (c: Document): Document[] => Object.keys(c).filter((k) => !k.startsWith('$')).map((k) => ({ [k]: c[k] }));
  const kept: Document[] = [];
  conds.forEach((c, i) => {
    if (kept.some((k) => sameCondition(k, c))) return;
    const others = conds.filter((_, j) => j !== i).flatMap(parts);
    if (!implied(c, others)) kept.push(c);
  });
  return kept;
}
