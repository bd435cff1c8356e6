// composite values: component values joined with "$". All-token composites match within one
// repetition through the stored tuples; others combine per-component conditions (which on a
// multi-valued element may be satisfied by different repetitions: FerretDB has no $elemMatch).
// See: https://hl7.org/fhir/R4/search.html#composite
import type { Document } from 'mongodb';
import { badRequest } from '../../outcome.ts';
import { splitUnescaped, unescapeValue } from '../query/escaping.ts';
import type { ValueCompiler, ValueContext } from './value-context.ts';

export function compositeCompiler(compilerFor: (type: string) => ValueCompiler): ValueCompiler {
  return (raw: string, ctx: ValueContext): Document => {
    if (ctx.modifier) throw badRequest(`${ctx.name}: modifiers are not allowed on a composite parameter`, [ctx.name]);
    const components = ctx.param.components ?? [];
    const parts = splitUnescaped(raw, '$');
    if (parts.length !== components.length) {
      throw badRequest(`${ctx.name}: "${raw}" needs ${components.length} values joined with $`, [ctx.name]);
    }
    const allTokens = components.every((c) => c.param.type === 'token');
    if (allTokens && parts.every((p) => !/^[^|]*\|$/.test(unescapeValue(p)))) {
      // Stored tuples use the same forms as the values: code, system|code, |code.
      return { [`${ctx.field}.t`]: parts.map(unescapeValue).join('$') };
    }
    return {
      $and: components.map((c, i) =>
        compilerFor(c.param.type)(parts[i], { ...ctx, param: c.param, field: `${ctx.field}.${i}`, modifier: undefined }),
      ),
    };
  };
}
