// Conditions that must hold for one and the same value of a parameter with several values: two
// bounds (eq, ap) on a date, number or quantity, or a number with a unit. On the parallel arrays
// lo/hi/u they could hold across two values (a Goal due in 2021 and in June 2024 is not due in
// March 2024; 5 mg and 200 g are not "gt100 mg"), and FerretDB 1.x has no $elemMatch on
// sub-documents, so such a value is matched against each stored position (v0, v1, ...; see
// index-values/shapes.ts) and, for resources without positions (one value, or more than
// MAX_POSITIONS), against the arrays as before. Composite parameters do the same with their tuples.
import type { Document } from 'mongodb';
import { MAX_POSITIONS } from '../index-values/shapes.ts';
import type { SearchParam } from '../registry.ts';
import { dateSpec } from './date-filter.ts';
import { numericSpec } from './number-filter.ts';
import { TWO_BOUND_PREFIXES } from './range-filter.ts';
import type { ValueCompiler, ValueContext } from './value-context.ts';

function needsOneValue(param: SearchParam, raw: string, name: string): boolean {
  if (param.type === 'date') return TWO_BOUND_PREFIXES.has(dateSpec(raw, name).prefix);
  if (param.type !== 'number' && param.type !== 'quantity') return false;
  const spec = numericSpec(raw, name);
  return spec.unit !== undefined || TWO_BOUND_PREFIXES.has(spec.prefix);
}

/** The condition for one search value, by position where it must hold for one value; else undefined. */
export function oneValueCondition(raw: string, ctx: ValueContext, compile: ValueCompiler): Document | undefined {
  if (ctx.modifier || !needsOneValue(ctx.param, raw, ctx.name)) return undefined;
  return {
    $or: [
      { $and: [compile(raw, ctx), { [`${ctx.field}.v0`]: { $exists: false } }] },
      ...Array.from({ length: MAX_POSITIONS }, (_, n) => compile(raw, { ...ctx, field: `${ctx.field}.v${n}` })),
    ],
  };
}
