// `birthdate=1980-05-12`: an eq date must hold for one and the same value of the parameter, so
// its exact condition is an $or over the value positions (positions.ts). MongoDB answers an $or
// from indexes only when every branch has one, and the positions have none, so it read every
// document. Every match has a value that starts inside the searched range (eq: the whole value
// lies inside it), so "some lo within the range" is a necessary condition; ANDed ahead of the
// exact one, MongoDB answers it from its index on sp.<param>.lo (search-indexes.ts). The exact
// condition still decides. (The local database narrows these searches by lookup keys instead.)
// See: https://hl7.org/fhir/R4/search.html#date
import type { Document } from 'mongodb';
import type { Criterion } from '../query/search-request.ts';
import type { SearchParam } from '../registry.ts';
import { dateSpec } from './date-filter.ts';

/** `{<field>.lo: {$gte, $lte}}` (an $or of them for several values) for eq dates, else undefined. */
export function dateIndexHint(param: SearchParam, criterion: Criterion, field: string): Document | undefined {
  if (param.type !== 'date' || criterion.key.modifier) return undefined;
  const conds: Document[] = [];
  for (const raw of criterion.values) {
    const { prefix, s } = dateSpec(raw, criterion.name);
    if (prefix !== 'eq') return undefined;
    conds.push({ [`${field}.lo`]: { $gte: new Date(s.lo), $lte: new Date(s.hi) } });
  }
  return conds.length === 0 ? undefined : conds.length === 1 ? conds[0] : { $or: conds };
}
