// uri parameters: the values as written.
// See: https://hl7.org/fhir/R4/search.html#uri
import type { TypedValue } from '../registry.ts';
import type { UriIndex } from './shapes.ts';

export function uriIndex(values: TypedValue[]): UriIndex | undefined {
  const u = [...new Set(values.flatMap((v) => (typeof v.value === 'string' && v.value ? [v.value] : [])))];
  return u.length > 0 ? { u, o: u[0] } : undefined;
}
