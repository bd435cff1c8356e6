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

/**
 * Composite: each component indexed separately (merged over repetitions), plus for all-token
 * composites every (component0$component1) tuple of one repetition, so that e.g.
 * code-value-concept pairs match within the same Observation.component.
 * See: https://hl7.org/fhir/R4/search.html#composite
 */
function compositeIndex(param: SearchParam, values: TypedValue[], opts: IndexOptions): CompositeIndex | undefined {
  const components = param.components ?? [];
  if (components.length === 0) return undefined;
  const allTokens = components.every((c) => c.param.type === 'token');
  const perComponent: TypedValue[][] = components.map(() => []);
  const tuples = new Set<string>();
  for (const node of values) {
    const parts = components.map((c) => c.evaluate(node));
    parts.forEach((p, i) => perComponent[i].push(...p));
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
  return Object.keys(out).length > 0 ? out : undefined;
}
