// Which driver errors mean "the database cannot be reached right now" (as opposed to a query the
// database refused): these answer 503 with Retry-After, so that clients retry instead of
// reporting a server bug. See: https://hl7.org/fhir/R4/valueset-issue-type.html#issue-type-transient
import { MongoNetworkError, MongoNotConnectedError, MongoServerClosedError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';

/** Classes of driver errors raised when no database connection can be had (MongoNetworkError covers timeouts and cleared pools). */
const UNAVAILABLE = [MongoNetworkError, MongoServerSelectionError, MongoNotConnectedError, MongoTopologyClosedError, MongoServerClosedError];

/** True for an error (or an error it was caused by) that says the database is unreachable. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (UNAVAILABLE.some((type) => e instanceof type)) return true;
  }
  return false;
}
