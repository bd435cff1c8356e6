// number and quantity values: [prefix]number[|system|code]. A number's implicit precision makes
// "100" mean [99.5, 100.5) for eq and ne; ordering prefixes compare with the value itself.
// See: https://hl7.org/fhir/R4/search.html#number and #quantity
import type { Document } from 'mongodb';
import { badRequest } from '../../outcome.ts';
import { splitUnescaped, unescapeValue } from '../query/escaping.ts';
import { splitPrefix } from './prefix.ts';
import { rangeFilter, type RangeSpec } from './range-filter.ts';
import type { ValueCompiler, ValueContext } from './value-context.ts';

const NUMBER_RE = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The largest double below x (x finite). */
function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const bits = new BigInt64Array(new Float64Array([x]).buffer);
  bits[0] += x > 0 ? -1n : 1n;
  return new Float64Array(bits.buffer)[0];
}

/**
 * The range a written number stands for, [v − h, v + h) with h half the unit of its last
 * significant digit ("100" → [99.5, 100.5), "5.40" → [5.395, 5.405), "1.5e2" → [145, 155)).
 * The bounds are worked out in decimal and then read as numbers, so they are the doubles of the
 * decimals they are (5.4 − 0.05 in floating point is 5.3500000000000005, which would leave out a
 * stored 5.35); the upper bound, excluded, becomes the largest double below it.
 */
function impliedRange(text: string): { lo: number; hi: number } {
  const m = NUMBER_RE.exec(text) as RegExpExecArray;
  const digits = BigInt(`${text.startsWith('-') ? '-' : ''}${m[1]}${m[2] ?? ''}`) * 10n;
  const exponent = (m[3] ? Number(m[3]) : 0) - (m[2]?.length ?? 0) - 1;
  return { lo: Number(`${digits - 5n}e${exponent}`), hi: nextDown(Number(`${digits + 5n}e${exponent}`)) };
}

function numberSpec(text: string, name: string, raw: string): RangeSpec {
  const { prefix, rest } = splitPrefix(text, name);
  if (!NUMBER_RE.test(rest)) throw badRequest(`${name}: "${raw}" is not a valid number`, [name]);
  const v = Number(rest);
  const point = prefix === 'eq' || prefix === 'ne' ? impliedRange(rest) : { lo: v, hi: v };
  const a = Math.abs(v) * 0.1;
  return { prefix, s: point, approx: { lo: v - a, hi: v + a } };
}

function numberCondition(text: string, name: string, field: string, raw: string): Document {
  const { prefix, s, approx } = numberSpec(text, name, raw);
  return rangeFilter(`${field}.lo`, `${field}.hi`, prefix, s, approx);
}

/** A number or quantity search value as ranges (and unit), for checking stored values one by one. */
export function numericSpec(raw: string, name: string): RangeSpec {
  const parts = splitUnescaped(raw, '|').map(unescapeValue);
  const spec = numberSpec(parts[0], name, raw);
  if (parts.length === 3 && parts[2]) spec.unit = parts[1] ? `${parts[1]}|${parts[2]}` : parts[2];
  return spec;
}

export const compileNumber: ValueCompiler = (raw, ctx) => {
  if (ctx.modifier) throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not allowed on a number parameter`, [ctx.name]);
  return numberCondition(unescapeValue(raw), ctx.name, ctx.field, raw);
};

export function quantityCondition(raw: string, ctx: Pick<ValueContext, 'name' | 'field'>): Document {
  const parts = splitUnescaped(raw, '|').map(unescapeValue);
  if (parts.length !== 1 && parts.length !== 3) {
    throw badRequest(`${ctx.name}: "${raw}" must be [prefix]number or [prefix]number|system|code`, [ctx.name]);
  }
  const value = numberCondition(parts[0], ctx.name, ctx.field, raw);
  if (parts.length === 1) return value;
  const [, system, code] = parts;
  if (!code) {
    if (system) throw badRequest(`${ctx.name}: "${raw}" gives a unit system without a code`, [ctx.name]);
    return value;
  }
  // "||mg" matches the code or the unit text; "system|code" must match both together.
  const unit = system ? `${system}|${code}` : code;
  return { $and: [value, { [`${ctx.field}.u`]: unit }] };
}

export const compileQuantity: ValueCompiler = (raw, ctx) => {
  if (ctx.modifier) throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not allowed on a quantity parameter`, [ctx.name]);
  return quantityCondition(raw, ctx);
};
