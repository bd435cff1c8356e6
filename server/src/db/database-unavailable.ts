// Which driver errors mean "the database cannot be reached right now" (as opposed to a query the
// database refused): these answer 503 with Retry-After, so that clients retry instead of
// reporting a server bug. See: https://hl7.org/fhir/R4/valueset-issue-type.html#issue-type-transient
import { MongoNetworkError, MongoNotConnectedError, MongoServerClosedError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';

/** Classes of driver errors raised when no database connection can be had (MongoNetworkError covers timeouts and cleared pools). */
const UNAVAILABLE = [MongoNetworkError, MongoServerSelectionError, MongoNotConnectedError, MongoTopologyClosedError, MongoServerClosedError];

/**
 * Socket errors the driver lets through unwrapped. Seen: a request that takes a pooled connection
 * in the instant between the database's FIN and the socket's 'close' gets Node's EPIPE "This socket
 * has been ended by the other party" (driver 7.x, Connection.writeCommand waiting for 'drain'
 * rethrows it as it is). Requests touch no other sockets, so these codes can only be the database's.
 */
const SOCKET_ERRORS = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True for an error (or an error it was caused by) that says the database is unreachable. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (UNAVAILABLE.some((type) => e instanceof type)) return true;
    if (SOCKET_ERRORS.has(String((e as NodeJS.ErrnoException).code))) return true;
  }
  return false;
}
