// batch: every entry is an independent interaction; one failing does not stop the others.
// See: https://hl7.org/fhir/R4/http.html#brules
import type { Bundle } from 'fhir/r4';
import { badRequest } from '../outcome.ts';
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
  for (let i = 0; i < entries.length; i++) {
    try {
      const parsed = parseEntry(entries[i], i, fhirBase);
      if (parsed.request.path === '' && parsed.request.method === 'POST') {
        throw badRequest('A batch entry cannot itself be a batch or transaction');
      }
      parsed.request.headers.prefer = prefer;
      results.push(responseEntry(await dispatch(parsed.request, ctx)));
    } catch (err) {
      results.push(errorEntry(err));
    }
  }
  return { status: 200, body: { resourceType: 'Bundle', type: 'batch-response', entry: results } };
}
