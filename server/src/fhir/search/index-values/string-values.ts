// string parameters: every textual part of the value, folded for default/:contains matching.
// See: https://hl7.org/fhir/R4/search.html#string
import type { TypedValue } from '../registry.ts';
import { foldString } from '../fold.ts';
import type { StringIndex } from './shapes.ts';

function texts(v: TypedValue): string[] {
  const value = v.value;
  if (typeof value === 'string') return [value];
  if (!value || typeof value !== 'object') return [];
  const o = value as Record<string, unknown>;
  const strs = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s) => typeof s === 'string') : typeof x === 'string' ? [x] : []);
  switch (v.type) {
    case 'HumanName': {
      const given = strs(o.given);
      const family = strs(o.family);
      // Parts individually (so "name=joh" finds given "John") and the whole name as written.
      const whole = [...given, ...family].join(' ');
      return [...strs(o.text), ...family, ...given, ...strs(o.prefix), ...strs(o.suffix), ...(whole ? [whole] : [])];
    }
    case 'Address':
      return [
        ...strs(o.text), ...strs(o.line), ...strs(o.city), ...strs(o.district),
        ...strs(o.state), ...strs(o.postalCode), ...strs(o.country),
      ];
    case 'ContactPoint':
      return strs(o.value);
    case 'CodeableConcept':
      return [...strs(o.text), ...((o.coding as Array<{ display?: string }> | undefined) ?? []).flatMap((c) => strs(c.display))];
    case 'Coding':
      return strs(o.display);
    case 'Annotation':
      return strs(o.text);
    case 'Identifier':
      return strs(o.value);
    default:
      return [];
  }
}

export function stringIndex(values: TypedValue[]): StringIndex | undefined {
  const exact = [...new Set(values.flatMap(texts).filter((s) => s.length > 0))];
  if (exact.length === 0) return undefined;
  const folded = [...new Set(exact.map(foldString))];
  return { s: folded, e: exact, o: folded[0] };
}
