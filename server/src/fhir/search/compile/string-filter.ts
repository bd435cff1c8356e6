// string values: default = starts with (folded), :contains anywhere (folded), :exact as written.
// User text reaches MongoDB only as an escaped regex body or an equality value.
// See: https://hl7.org/fhir/R4/search.html#string
import { badRequest } from '../../outcome.ts';
import { escapeRegex, foldString } from '../fold.ts';
import { unescapeValue } from '../query/escaping.ts';
import type { ValueCompiler } from './value-context.ts';

export const compileString: ValueCompiler = (raw, ctx) => {
  const value = unescapeValue(raw);
  switch (ctx.modifier) {
    case undefined:
      return { [`${ctx.field}.s`]: { $regex: `^${escapeRegex(foldString(value))}` } };
    case 'contains':
      return { [`${ctx.field}.s`]: { $regex: escapeRegex(foldString(value)) } };
    case 'exact':
      return { [`${ctx.field}.e`]: value };
    default:
      throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not supported on a string parameter`, [ctx.name]);
  }
};
