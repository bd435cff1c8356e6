// JSON Patch (RFC 6902) on a resource. See: https://hl7.org/fhir/R4/http.html#patch
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { FhirResource as Resource } from 'fhir/r4';
import { badRequest, OperationOutcomeError, issue } from '../outcome.ts';

const { applyPatch, JsonPatchError } = fastJsonPatch;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

function assertPatchDocument(body: unknown): asserts body is Operation[] {
  if (!Array.isArray(body)) throw badRequest('A JSON Patch body must be an array of operations');
  if (body.length === 0) throw badRequest('The JSON Patch has no operations');
  body.forEach((op, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) throw badRequest(`Patch operation ${i} is not an object`);
    const { op: name, path } = op as { op?: unknown; path?: unknown };
    if (typeof name !== 'string' || !OPS.has(name)) throw badRequest(`Patch operation ${i} has an unknown op`);
    if (typeof path !== 'string') throw badRequest(`Patch operation ${i} has no path`);
  });
}

/** Returns the patched copy; the stored resource is never mutated. */
export function applyJsonPatch(resource: Resource, body: unknown): Resource {
  assertPatchDocument(body);
  try {
    // validate=true checks each operation; prototype modifications are refused by default.
    const result = applyPatch(structuredClone(resource), body, true, true, true);
    return result.newDocument;
  } catch (err) {
    if (err instanceof JsonPatchError) {
      // A failed "test" op is a precondition, not a malformed request (RFC 6902 §4.6 / 5789).
      if (err.name === 'TEST_OPERATION_FAILED') {
        throw new OperationOutcomeError(422, [issue('error', 'processing', `Patch test failed at operation ${err.index}`)]);
      }
      throw badRequest(`Patch operation ${err.index ?? ''} cannot be applied: ${err.name.toLowerCase().replace(/_/g, ' ')}`);
    }
    if (err instanceof TypeError && /__proto__|prototype/.test(err.message)) {
      throw badRequest('A patch may not modify __proto__, constructor or prototype');
    }
    throw err;
  }
}
