// The database's limit on one stored document, checked before a version is claimed, so that a
// resource too large to store is refused with a clear 413 and leaves nothing behind.
// See: https://www.mongodb.com/docs/manual/reference/limits/#mongodb-limit-BSON-Document-Size
// (FerretDB 1.x has the same limit.)
import { BSON } from 'mongodb';
import { OperationOutcomeError, issue } from '../outcome.ts';

/** MongoDB's and FerretDB's largest document: 16 MiB. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** Room for the fields a write adds after the check (transaction marks, key hints). */
const MARGIN_BYTES = 4 * 1024;

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Throws 413 when the stored form of a version (resource plus search index values) cannot be stored. */
export function assertStorable(what: string, document: object): void {
  const size = BSON.calculateObjectSize(document as BSON.Document);
  if (size <= MAX_DOCUMENT_BYTES - MARGIN_BYTES) return;
  throw new OperationOutcomeError(413, [
    issue(
      'error',
      'too-long',
      `${what} cannot be stored: with its search index values it takes ${mib(size)} MiB, and the database ` +
        `stores at most 16 MiB per resource (long texts are indexed for search as written and folded, so they count several times)`,
    ),
  ]);
}

/** True for the database's refusal of a document over its size limit (a safety net for the check above). */
export function isTooLarge(err: unknown): boolean {
  const e = err as { code?: number; codeName?: string; name?: string; message?: string } | undefined;
  return e?.code === 10334 || e?.codeName === 'BSONObjectTooLarge' || (e?.name === 'BSONError' && /larger than the maximum/i.test(e.message ?? ''));
}
