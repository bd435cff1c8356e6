// Computes the index value of one search parameter for one resource, by parameter type.
import type { SearchParam, TypedValue } from '../registry.ts';
import type { CompositeIndex, ParamIndex, TokenIndex } from './shapes.ts';
import { stringIndex } from './string-values.ts';
import { tokenIndex } from './token-values.ts';
import { referenceIndex } from './reference-values.ts';
import { dateIndex } from './date-values.ts';
import { numberIndex } from './number-values.ts';
import { uriIndex } from './uri-values.ts';

export interface IndexOptions {
  /** This server's base URL: absolute references below it are local. */
  baseUrl: string;
}

export function indexValues(param: SearchParam, values: TypedValue[], opts: IndexOptions): ParamIndex | undefined {
  switch (param.type) {
    case 'string':
      return stringIndex(values);
    case 'token':
      return tokenIndex(values);
    case 'reference':
      return referenceIndex(values, opts.baseUrl);
    case 'date':
      return dateIndex(values);
    case 'number':
      return numberIndex(values, false);
    case 'quantity':
      return numberIndex(values, true);
    case 'uri':
      return uriIndex(values);
    case 'composite':
      return compositeIndex(param, values, opts);
    default:
      return undefined; // 'special' (e.g. Location near) has no stored form here
  }
}

/** Keys a token component can be queried by: "code", "system|code", "|code". */
function tokenKeys(t: TokenIndex | undefined): string[] {
  return t ? [...t.c, ...(t.sc ?? [])] : [];
}

/** Repetitions of a composite indexed one by one (t0, t1, ...); further ones are not searchable. */
export const MAX_COMPOSITE_TUPLES = 10;

/**
 * Composite: each repetition as its own sub-document (t0, t1, ...) holding its components' index
 * values ("0", "1", ...), so that e.g. the code and the value of one Observation.component must
 * match together without $elemMatch; for all-token composites also the tuples as strings
 * "component0$component1" (t). Only repetitions with every component present are searchable.
 * See: https://hl7.org/fhir/R4/search.html#composite
 */
function compositeIndex(param: SearchParam, values: TypedValue[], opts: IndexOptions): CompositeIndex | undefined {
  const components = param.components ?? [];
  if (components.length === 0) return undefined;
  const allTokens = components.every((c) => c.param.type === 'token');
  const out: CompositeIndex = {};
  const tuples = new Set<string>();
  let n = 0;
  for (const node of values) {
    if (n >= MAX_COMPOSITE_TUPLES) break;
    const parts = components.map((c) => c.evaluate(node));
    const tuple: CompositeIndex = {};
    components.forEach((c, i) => {
      const idx = indexValues(c.param, parts[i], opts) as (ParamIndex & { o?: unknown }) | undefined;
      if (!idx) return;
      delete idx.o; // components are never sort keys
      // nor queried by position (each repetition of the composite is its own tuple already)
      for (const key of Object.keys(idx)) if (/^v\d+$/.test(key)) delete (idx as Record<string, unknown>)[key];
      tuple[String(i)] = idx;
    });
    if (Object.keys(tuple).length !== components.length) continue;
    out[`t${n++}`] = tuple;
    if (allTokens) {
      let keys = [''];
      parts.forEach((p, i) => {
        const ks = tokenKeys(tokenIndex(p));
        keys = keys.flatMap((prefix) => ks.map((k) => (i === 0 ? k : `${prefix}$${k}`)));
      });
      for (const k of keys) tuples.add(k);
    }
  }
  if (tuples.size > 0) out.t = [...tuples];
  return n > 0 ? out : undefined;
}
