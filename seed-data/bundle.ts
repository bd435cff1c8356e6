// Transaction Bundles. Every entry is a PUT to its deterministic id ("Type/<uuid>") with
// fullUrl "urn:uuid:<uuid>", and references between entries of the same bundle use that
// urn:uuid, which the server rewrites to "Type/<uuid>" on commit. PUT with client-chosen ids
// (update-as-create) makes loading idempotent: a second load updates the same resources (new
// versions) instead of creating duplicates, with no need for identifiers on every resource.
// See: https://hl7.org/fhir/R4/http.html#trules and https://hl7.org/fhir/R4/http.html#upsert
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4';

export type TransactionBundle = Bundle & { type: 'transaction'; entry: BundleEntry[] };

export function transactionBundle(resources: readonly FhirResource[]): TransactionBundle {
  const bundle: TransactionBundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => {
      if (!resource.id) throw new Error(`transactionBundle: ${resource.resourceType} without id`);
      return {
        fullUrl: `urn:uuid:${resource.id}`,
        resource,
        request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
      };
    }),
  };
  return bundle;
}

const LINE_WIDTH = 160;

/**
 * The committed files' format: 2-space indented JSON where an object or array that fits on one
 * line stays on one line (a Coding, a Quantity, a Reference). Plain `JSON.stringify(x, null, 2)`
 * spends a line per field and made the demo set half again as large; this keeps it readable in
 * review and under the size budget. Deterministic, ends with a newline, and `JSON.parse` of the
 * output deep-equals the input.
 */
export function serializeBundle(bundle: Bundle): string {
  return `${formatJson(bundle, '', 0)}\n`;
}

function formatJson(value: unknown, indent: string, keyLength: number): string {
  const flat = JSON.stringify(value);
  if (value === null || typeof value !== 'object' || indent.length + keyLength + flat.length <= LINE_WIDTH) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${formatJson(v, inner, 0)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries
    .map(([k, v]) => {
      const key = `${JSON.stringify(k)}: `;
      return `${inner}${key}${formatJson(v, inner, key.length)}`;
    })
    .join(',\n')}\n${indent}}`;
}
