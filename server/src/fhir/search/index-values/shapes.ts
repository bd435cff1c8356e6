// The shape of the index values stored in CurrentDocument.sp[code], one per parameter type.
// Flat arrays of scalars only: FerretDB 1.x cannot $elemMatch on sub-fields, so anything that must
// match conjunctively is pre-combined into one scalar (e.g. "system|code"). `o` is a scalar sort key.
// Field names are short because they are repeated in every document.

/** string: folded values (s) for default/:contains, exact values (e) for :exact. */
export interface StringIndex {
  s: string[];
  e: string[];
  o?: string;
}

/**
 * token: codes (c), "system|code" and "|code" for system-less codings (sc), folded display text
 * for :text (x), "typeSystem|typeCode|value" for identifier :of-type (ot).
 */
export interface TokenIndex {
  c: string[];
  sc?: string[];
  x?: string[];
  ot?: string[];
  o?: string;
}

/** reference: "Type/id" for local references, the URL for external/canonical ones; identifiers as token (i, iv). */
export interface ReferenceIndex {
  r: string[];
  i?: string[];
  iv?: string[];
  o?: string;
}

/**
 * Ranges with several values also keep each value on its own, under its position (v0, v1, ... up
 * to MAX_POSITIONS): a condition with two bounds (eq, ap) or a bound and a unit must hold for one
 * value, and without $elemMatch on sub-documents (FerretDB 1.x) the parallel arrays lo/hi/u cannot
 * say which bound belongs to which value. One value, or more than MAX_POSITIONS: no positions.
 */
export interface ValueAt<T> {
  lo: T;
  hi: T;
  u?: string[];
}
export type Positions<T> = { [position: `v${number}`]: ValueAt<T> };
export const MAX_POSITIONS = 10;

/** date: one [lo, hi] range per value, as parallel arrays of Dates. */
export interface DateIndex extends Positions<Date> {
  lo: Date[];
  hi: Date[];
  o?: Date;
}

/** number and quantity: [lo, hi] per value; quantity units as "system|code", code and unit (u). */
export interface NumberIndex extends Positions<number> {
  lo: number[];
  hi: number[];
  u?: string[];
  o?: number;
}

/** Adds the positions of 2..MAX_POSITIONS values to a range index. */
export function withPositions<T, I extends Positions<T>>(index: I, values: Array<ValueAt<T>>): I {
  const positions: Positions<T> = index;
  if (values.length >= 2 && values.length <= MAX_POSITIONS) values.forEach((v, n) => (positions[`v${n}`] = v));
  return index;
}

/** uri: exact values. */
export interface UriIndex {
  u: string[];
  o?: string;
}

/**
 * composite: each component's index under its position ("0", "1", ...) and, when every component is
 * a token, the tuples joined with "$" (t) so that both halves must match the same repetition.
 */
export interface CompositeIndex {
  t?: string[];
  [component: string]: unknown;
}

export type ParamIndex = StringIndex | TokenIndex | ReferenceIndex | DateIndex | NumberIndex | UriIndex | CompositeIndex;
