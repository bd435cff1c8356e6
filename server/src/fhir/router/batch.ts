// batch: every entry is an independent interaction; one failing does not stop the others.
// See: https://hl7.org/fhir/R4/http.html#brules
import type { Bundle } from 'fhir/r4';
import { isDatabaseUnavailable } from '../../db/database-unavailable.ts';
import { badRequest, databaseUnavailable } from '../outcome.ts';
import type { AccessContext, FhirInteraction, FhirResponse } from '../types.ts';
import { errorEntry, parseEntry, responseEntry } from './bundle-entries.ts';

export async function processBatch(
  bundle: Bundle,
  ctx: AccessContext,
  fhirBase: string,
  dispatch: FhirInteraction,
  prefer: string | undefined,
): Promise<FhirResponse> {
  const entries = bundle.entry ?? [];
  const results = [];
  // Sequential on purpose: entries may touch the same resources, and order is what the client wrote.
  let databaseDown = false;
  for (let i = 0; i < entries.length; i++) {
    // Once the database proved unreachable, the other entries answer 503 at once instead of each
    // waiting for it in turn (entries before it may have been written, so the batch itself is 200).
    if (databaseDown) {
      results.push(errorEntry(databaseUnavailable()));
      continue;
    }
    try {
      const parsed = parseEntry(entries[i], i, fhirBase);
      if (parsed.request.path === '' && parsed.request.method === 'POST') {
        throw badRequest('A batch entry cannot itself be a batch or transaction');
      }
      parsed.request.headers.prefer = prefer;
      results.push(responseEntry(await dispatch(parsed.request, ctx)));
    } catch (err) {
      databaseDown = isDatabaseUnavailable(err);
      results.push(errorEntry(err));
    }
  }
  return { status: 200, body: { resourceType: 'Bundle', type: 'batch-response', entry: results } };
}
