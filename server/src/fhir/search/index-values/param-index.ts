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
  return t ? [...t.c, ...t.sc] : [];
}

/** Repetitions of a composite indexed one by one (t0, t1, ...); further ones only in the merged form. */
export const MAX_COMPOSITE_TUPLES = 10;

/**
 * Composite: each component indexed separately (merged over repetitions, "0", "1", ...); for
 * all-token composites every (component0$component1) tuple of one repetition (t); for others each
 * repetition as its own sub-document (t0, t1, ...), so that e.g. the code and the value of one
 * Observation.component must match together without $elemMatch.
 * See: https://hl7.org/fhir/R4/search.html#composite
 */
function compositeIndex(param: SearchParam, values: TypedValue[], opts: IndexOptions): CompositeIndex | undefined {
  const components = param.components ?? [];
  if (components.length === 0) return undefined;
  const allTokens = components.every((c) => c.param.type === 'token');
  const perComponent: TypedValue[][] = components.map(() => []);
  const tuples = new Set<string>();
  const perTuple: CompositeIndex[] = [];
  for (const node of values) {
    const parts = components.map((c) => c.evaluate(node));
    parts.forEach((p, i) => perComponent[i].push(...p));
    if (!allTokens && perTuple.length < MAX_COMPOSITE_TUPLES && parts.every((p) => p.length > 0)) {
      const tuple: CompositeIndex = {};
      components.forEach((c, i) => {
        const idx = indexValues(c.param, parts[i], opts);
        if (idx) tuple[String(i)] = idx;
      });
      if (Object.keys(tuple).length === components.length) perTuple.push(tuple);
    }
    if (allTokens) {
      let keys = [''];
      parts.forEach((p, i) => {
        const ks = tokenKeys(tokenIndex(p));
        keys = keys.flatMap((prefix) => ks.map((k) => (i === 0 ? k : `${prefix}$${k}`)));
      });
      for (const k of keys) tuples.add(k);
    }
  }
  const out: CompositeIndex = {};
  components.forEach((c, i) => {
    const idx = indexValues(c.param, perComponent[i], opts);
    if (idx) out[String(i)] = idx;
  });
  if (tuples.size > 0) out.t = [...tuples];
  perTuple.forEach((t, i) => (out[`t${i}`] = t));
  return Object.keys(out).length > 0 ? out : undefined;
}
