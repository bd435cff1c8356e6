// Search limits: the checks on a request's size that do not need the database, and the one way
// a search says it went over a limit (400, too-costly, naming the limit, its value and its
// setting). The limits themselves are configuration (config.ts, SearchLimits).
// See: https://hl7.org/fhir/R4/operationoutcome.html (issue code too-costly)
import { SEARCH_LIMIT_SETTINGS, type SearchLimits } from '../../../config.ts';
import { issue, OperationOutcomeError } from '../../outcome.ts';

export type { SearchLimits };

const UNITS: Record<keyof SearchLimits, string> = {
  maxValuesPerParameter: 'values per parameter',
  maxParameters: 'parameters per search',
  maxIncludes: '_include and _revinclude specs per search',
  maxIterateRounds: ':iterate rounds',
  maxIncludedResources: 'included resources per page',
  maxChainDepth: 'chain steps (and _has levels) per parameter',
  maxChainTargets: 'resource types per chain step',
  maxSubQueries: 'chain and _has sub-queries per search',
  maxChainMatches: 'matches per chain or _has step',
  maxSortKeys: '_sort keys',
  maxElements: '_elements entries',
  timeBudgetMs: 'ms of database time per search',
};

/** "at most 100 values per parameter (SEARCH_MAX_VALUES)": a limit as messages name it. */
export function describeLimit(limits: SearchLimits, limit: keyof SearchLimits): string {
  return `at most ${limits[limit]} ${UNITS[limit]} (${SEARCH_LIMIT_SETTINGS[limit].variable})`;
}

/** The error of a search beyond a limit: what the request asked for, the limit, and what to do instead. */
export function limitExceeded(
  limits: SearchLimits,
  limit: keyof SearchLimits,
  what: string,
  expression?: string[],
  advice?: string,
): OperationOutcomeError {
  const text = `${what}; this server allows ${describeLimit(limits, limit)}${advice ? `. ${advice}` : ''}`;
  return new OperationOutcomeError(400, [issue('error', 'too-costly', text, expression)]);
}

/** Throws when `count` is over the limit. */
export function assertWithin(
  limits: SearchLimits,
  limit: keyof SearchLimits,
  count: number,
  what: () => string,
  expression?: string[],
  advice?: string,
): void {
  if (count > limits[limit]) throw limitExceeded(limits, limit, what(), expression, advice);
}

/**
 * The parameters without exact repeats (same name and value), in first-seen order. A repeated
 * pair ANDs a condition with itself (or repeats an include), so dropping it changes no result.
 */
export function distinctParams(params: Array<[string, string]>): Array<[string, string]> {
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  for (const pair of params) {
    const k = `${pair[0]}\u0000${pair[1]}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(pair);
  }
  return out;
}

/** Distinct values of a list, in first-seen order. */
export const distinct = <T>(values: T[]): T[] => [...new Set(values)];

/**
 * The limits as the CapabilityStatement states them (rest.documentation, markdown): R4 has no
 * structured element for search limits, and this is where a client reads what applies across
 * the server's RESTful interface.
 * See: https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.documentation
 */
export function searchLimitsDocumentation(limits: SearchLimits): string {
  const refused: Array<keyof SearchLimits> = [
    'maxParameters',
    'maxValuesPerParameter',
    'maxIncludes',
    'maxChainDepth',
    'maxChainTargets',
    'maxSubQueries',
    'maxChainMatches',
    'maxSortKeys',
    'maxElements',
    'timeBudgetMs',
  ];
  return [
    'Search limits. A search beyond one of these is refused with 400 and an OperationOutcome (code too-costly) naming it:',
    '',
    ...refused.map((l) => `- ${describeLimit(limits, l)}`),
    '',
    `Repeated parameters (same name and value) count once. A page includes ${describeLimit(limits, 'maxIncludedResources')}`,
    `and follows ${describeLimit(limits, 'maxIterateRounds')}; beyond them it says in its OperationOutcome entry that it stopped.`,
  ].join('\n');
}
