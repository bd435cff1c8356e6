// uri values: exact; :below matches URIs that start with the value, :above URIs the value starts with.
// See: https://hl7.org/fhir/R4/search.html#uri
import { badRequest } from '../../outcome.ts';
import { escapeRegex } from '../fold.ts';
import { unescapeValue } from '../query/escaping.ts';
import type { ValueCompiler } from './value-context.ts';

export const compileUri: ValueCompiler = (raw, ctx) => {
  const value = unescapeValue(raw);
  const field = `${ctx.field}.u`;
  switch (ctx.modifier) {
    case undefined:
      return { [field]: value };
    case 'below':
      return { [field]: { $regex: `^${escapeRegex(value)}` } };
    case 'above': {
      // Every ancestor path of the value, e.g. http://a/b/c → http://a/b/c, http://a/b, http://a
      const prefixes: string[] = [];
      let v = value;
      while (v.length > 0) {
        prefixes.push(v);
        const slash = v.lastIndexOf('/');
        if (slash <= 0 || v[slash - 1] === '/') break;
        v = v.slice(0, slash);
      }
      return { [field]: { $in: prefixes } };
    }
    default:
      throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not supported on a uri parameter`, [ctx.name]);
  }
};
