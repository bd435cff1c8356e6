// Narrowing by lookup keys (key-hints.ts, lookup-keys.ts) where the database has no multikey
// index: the criteria keys can answer give the ids of the resources they may match, and the
// search is restricted to those ids ahead of its exact conditions. Criteria are ANDed, so their
// candidates are intersected; exact codes are looked up first, then dates, then name prefixes,
// and once few candidates are left the rest is left to the exact conditions.
import type { Document } from 'mongodb';
import { criterionKeyLookup, type KeyRange } from '../lookup-keys.ts';
import type { Criterion } from '../query/search-request.ts';
import type { SearchParamRegistry } from '../registry.ts';
import { MATCH_NOTHING } from './value-context.ts';

/**
 * Most keys one criterion may find and still narrow the search. Reading them costs a few
 * microseconds each; the local database pushes down _id lists up to this long (its $in limit).
 */
export const MAX_KEY_CANDIDATES = 10_000;
/** Candidates few enough that looking up another criterion's keys would cost more than it saves. */
const FEW_CANDIDATES = 50;

/** Ids (sorted) of the resources with a key in one of the ranges; undefined beyond max keys. */
export type KeyCandidates = (ranges: KeyRange[], max: number) => Promise<string[] | undefined>;

/** An `_id` condition holding every resource of `type` the criteria can match, or undefined. */
export async function keyNarrowing(
  type: string,
  criteria: Criterion[],
  registry: SearchParamRegistry,
  keyCandidates: KeyCandidates,
): Promise<Document | undefined> {
  const lookups = criteria
    .flatMap((c) => criterionKeyLookup(registry, type, c) ?? [])
    .sort((a, b) => a.selectivity - b.selectivity);
  let ids: string[] | undefined;
  for (const lookup of lookups) {
    if (ids && ids.length <= FEW_CANDIDATES) break;
    const found = await keyCandidates(lookup.ranges, MAX_KEY_CANDIDATES);
    if (!found) continue; // too common to narrow by
    if (ids) {
      const also = new Set(found);
      ids = ids.filter((id) => also.has(id));
    } else ids = found;
  }
  if (!ids) return undefined;
  if (ids.length === 0) return MATCH_NOTHING;
  return ids.length === 1 ? { _id: ids[0] } : { _id: { $in: ids } };
}
