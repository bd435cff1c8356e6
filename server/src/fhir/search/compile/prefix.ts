// Comparison prefixes of number, date and quantity values.
// See: https://hl7.org/fhir/R4/search.html#prefix
import { badRequest } from '../../outcome.ts';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
const PREFIXES = new Set<Prefix>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

export function splitPrefix(raw: string, name: string): { prefix: Prefix; rest: string } {
  const m = /^([a-z]{2})(.*)$/s.exec(raw);
  if (m) {
    if (!PREFIXES.has(m[1] as Prefix)) throw badRequest(`${name}: unknown prefix "${m[1]}" in "${raw}"`, [name]);
    return { prefix: m[1] as Prefix, rest: m[2] };
  }
  return { prefix: 'eq', rest: raw };
}
