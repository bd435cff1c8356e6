// A problem with the local database the user can fix (missing tool, failed build, data directory
// in use): main.ts reports it as one clear message instead of a stack trace.
export class LocalDatabaseError extends Error {
  override name = 'LocalDatabaseError';
}
