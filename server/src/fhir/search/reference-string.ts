// One normal form for references, used when indexing and when querying, so "Patient/1",
// "Patient/1/_history/3" and "https://this-server/fhir/Patient/1" all meet as "Patient/1".
// See: https://hl7.org/fhir/R4/references.html#literal
import { isResourceType } from './registry.ts';

const RELATIVE_RE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * Normalises a literal reference. Relative references and absolute URLs below this server's base
 * become "Type/id"; other absolute URLs (other servers, canonicals, urn:) are kept as written,
 * without a "|version" suffix for canonicals. Returns undefined for local fragments ("#x").
 */
export function normalizeReference(reference: string, baseUrl: string): string | undefined {
  let ref = reference.trim();
  if (ref === '' || ref.startsWith('#')) return undefined;
  const base = baseUrl.replace(/\/+$/, '');
  if (ref.startsWith(base + '/')) ref = ref.slice(base.length + 1);
  const m = RELATIVE_RE.exec(ref);
  if (m && isResourceType(m[1])) return `${m[1]}/${m[2]}`;
  const bar = ref.indexOf('|');
  return bar > 0 ? ref.slice(0, bar) : ref;
}

/** "Type/id" → [Type, id] when it is a local reference. */
export function splitLocalReference(ref: string): [string, string] | undefined {
  const m = RELATIVE_RE.exec(ref);
  return m && isResourceType(m[1]) ? [m[1], m[2]] : undefined;
}
