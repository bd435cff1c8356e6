// The answers of the access policy that are not conditions.
import type { Document } from 'mongodb';
import { OperationOutcomeError, issue } from '../fhir/outcome.ts';

/** Matches no document (an _id list with nothing in it: answered from the primary key). */
export const NOTHING: Document = { _id: { $in: [] } };

/** 403: the token's scopes do not allow the interaction (existence of resources is never revealed this way). */
export function forbidden(diagnostics: string): OperationOutcomeError {
  return new OperationOutcomeError(403, [issue('error', 'forbidden', diagnostics)]);
}
