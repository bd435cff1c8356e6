// reference values (not chained): Type/id, id, an absolute URL; modifiers :Type and :identifier.
// Chains and _has are resolved in compile-criteria.ts by sub-queries.
// See: https://hl7.org/fhir/R4/search.html#reference
import type { Document } from 'mongodb';
import { badRequest } from '../../outcome.ts';
import { escapeRegex } from '../fold.ts';
import { isResourceType } from '../registry.ts';
import { unescapeValue } from '../query/escaping.ts';
import { normalizeReference, splitLocalReference } from '../reference-string.ts';
import { tokenCondition } from './token-filter.ts';
import type { ValueCompiler, ValueContext } from './value-context.ts';
import { anyOf } from './value-list.ts';

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/** The stored reference strings a search value stands for (several when only an id is given). */
export function referenceValues(raw: string, ctx: Pick<ValueContext, 'name' | 'param' | 'modifier' | 'baseUrl'>): string[] | { anyTypeId: string } {
  const value = unescapeValue(raw);
  const typeModifier = ctx.modifier && isResourceType(ctx.modifier) ? ctx.modifier : undefined;
  if (ID_RE.test(value) && !value.includes('/')) {
    if (typeModifier) return [`${typeModifier}/${value}`];
    if (ctx.param.targets.length > 0) return ctx.param.targets.map((t) => `${t}/${value}`);
    return { anyTypeId: value };
  }
  const n = normalizeReference(value, ctx.baseUrl);
  if (!n) throw badRequest(`${ctx.name}: "${raw}" is not a reference`, [ctx.name]);
  const local = splitLocalReference(n);
  if (local && typeModifier && local[0] !== typeModifier) {
    throw badRequest(`${ctx.name}: "${raw}" is not a ${typeModifier} reference`, [ctx.name]);
  }
  return [n];
}

export const compileReference: ValueCompiler = (raw, ctx) => {
  if (ctx.modifier === 'identifier') {
    const c = tokenCondition(raw, ctx.field);
    // Reuse the token syntax on the identifier fields (i = system|value, iv = value).
    const [k, v] = Object.entries(c)[0];
    return { [k.endsWith('.c') ? `${ctx.field}.iv` : `${ctx.field}.i`]: v } as Document;
  }
  if (ctx.modifier && !isResourceType(ctx.modifier)) {
    throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not supported on a reference parameter`, [ctx.name]);
  }
  const refs = referenceValues(raw, ctx);
  if ('anyTypeId' in refs) return { [`${ctx.field}.r`]: { $regex: `^[A-Za-z]+/${escapeRegex(refs.anyTypeId)}$` } };
  return anyOf(`${ctx.field}.r`, refs);
};
