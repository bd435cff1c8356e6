// _sort → document fields, and the JavaScript order that matches MongoDB's for merging pages of
// several collections (system search). Ties are broken by resource type, then id, so the order
// is total and paging is stable.
// See: https://hl7.org/fhir/R4/search.html#sort
import { badRequest } from '../../outcome.ts';
import type { SortKey } from '../query/search-request.ts';
import type { SearchParamRegistry } from '../registry.ts';

export interface SortField {
  field: string;
  descending: boolean;
}

export function sortFields(types: string[], sort: SortKey[], registry: SearchParamRegistry): SortField[] {
  return sort.map(({ code, descending }) => {
    if (code === '_id') return { field: '_id', descending };
    if (code === '_lastUpdated') return { field: 'ts', descending };
    for (const t of types) {
      const p = registry.get(t, code);
      if (!p || !p.expression || p.type === 'composite' || p.type === 'special') {
        throw badRequest(`_sort: ${code} is not a sortable search parameter of ${t}`, ['_sort']);
      }
    }
    return { field: `sp.${code}.o`, descending };
  });
}

export type SortValue = string | number | Date | null;

export function fieldValue(doc: object, field: string): SortValue {
  let v: unknown = doc;
  for (const part of field.split('.')) {
    if (!v || typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[part];
  }
  if (typeof v === 'string' || typeof v === 'number' || v instanceof Date) return v;
  return null;
}

/** MongoDB order within one BSON type family, nulls (missing) first. */
export function compareValues(a: SortValue, b: SortValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const av = a instanceof Date ? a.getTime() : a;
  const bv = b instanceof Date ? b.getTime() : b;
  if (typeof av === 'number' && typeof bv === 'number') return av - bv;
  if (typeof av === 'number') return -1; // numbers sort before strings in BSON order
  if (typeof bv === 'number') return 1;
  return av < bv ? -1 : av > bv ? 1 : 0;
}
