// The time budget of one search: every find and count it sends carries what is left of the budget
// as maxTimeMS, so the database itself stops a search that runs too long (FerretDB 1.24 honours it
// on find and aggregate, and stops working on the query; see server/test/search-limits.test.ts).
//
// Why 400 and not 503 when the budget runs out: the budget is spent by the search itself (its
// criteria against the data there is), not by a passing outage; sent again unchanged it would
// most likely run out again, and a 503 invites clients and proxies to retry it, which would
// repeat the costliest work on the database. A 400 with code too-costly tells the caller to
// narrow the search, as the other search limits do.
// See: https://www.mongodb.com/docs/manual/reference/method/cursor.maxTimeMS/
import type { OperationOutcomeError } from '../../outcome.ts';
import { limitExceeded, type SearchLimits } from '../query/search-limits.ts';

/** MongoDB's error code for "operation exceeded time limit" (FerretDB uses the same). */
const MAX_TIME_MS_EXPIRED = 50;

const isTimeLimitError = (err: unknown): boolean => {
  const e = err as { code?: unknown; codeName?: unknown } | undefined;
  return e?.code === MAX_TIME_MS_EXPIRED || e?.codeName === 'MaxTimeMSExpired';
};

export class SearchBudget {
  private readonly deadline: number;

  constructor(private readonly limits: SearchLimits) {
    this.deadline = performance.now() + limits.timeBudgetMs;
  }

  /** Runs one database query with what is left of the budget; a database time-out becomes the search's 400. */
  async run<T>(query: (maxTimeMS: number) => Promise<T>): Promise<T> {
    const left = Math.ceil(this.deadline - performance.now());
    if (left <= 0) throw this.exceeded();
    try {
      return await query(left);
    } catch (err) {
      if (isTimeLimitError(err)) throw this.exceeded();
      throw err;
    }
  }

  private exceeded(): OperationOutcomeError {
    return limitExceeded(
      this.limits,
      'timeBudgetMs',
      'The search ran out of time in the database',
      undefined,
      'Narrow it: more selective criteria, fewer chains or includes, or a smaller _count',
    );
  }
}
