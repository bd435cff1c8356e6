// token values: code, system|code, |code, system|; modifiers :not, :text, :of-type.
// See: https://hl7.org/fhir/R4/search.html#token
import type { Document } from 'mongodb';
import { badRequest, notSupported } from '../../outcome.ts';
import { escapeRegex, foldString } from '../fold.ts';
import { splitUnescaped, unescapeValue } from '../query/escaping.ts';
import type { ValueCompiler, ValueContext } from './value-context.ts';

/** The positive condition of one token value on a token index at `field`. */
export function tokenCondition(raw: string, field: string): Document {
  const parts = splitUnescaped(raw, '|');
  if (parts.length === 1) return { [`${field}.c`]: unescapeValue(raw) };
  const system = unescapeValue(parts[0]);
  const code = unescapeValue(parts.slice(1).join('|'));
  if (code === '') {
    // "system|": any code from that system; an anchored, escaped prefix match on "system|code".
    return { [`${field}.sc`]: { $regex: `^${escapeRegex(system)}\\|` } };
  }
  return { [`${field}.sc`]: `${system}|${code}` };
}

export const compileToken: ValueCompiler = (raw, ctx: ValueContext) => {
  switch (ctx.modifier) {
    case undefined:
      return tokenCondition(raw, ctx.field);
    case 'not':
      // Resources without any value also match :not (HAPI and the spec's examples agree).
      return { $nor: [tokenCondition(raw, ctx.field)] };
    case 'text':
      return { [`${ctx.field}.x`]: { $regex: `^${escapeRegex(foldString(unescapeValue(raw)))}` } };
    case 'of-type': {
      const parts = splitUnescaped(raw, '|').map(unescapeValue);
      if (parts.length !== 3 || !parts[1] || !parts[2]) {
        throw badRequest(`${ctx.name}: :of-type takes system|code|value, got "${raw}"`, [ctx.name]);
      }
      return { [`${ctx.field}.ot`]: parts.join('|') };
    }
    case 'in':
    case 'not-in':
    case 'above':
    case 'below':
      throw notSupported(`${ctx.name}: :${ctx.modifier} needs terminology services, which this server does not have`);
    default:
      throw badRequest(`${ctx.name}: modifier :${ctx.modifier} is not supported on a token parameter`, [ctx.name]);
  }
};
