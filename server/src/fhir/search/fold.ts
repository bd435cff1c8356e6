// String normalisation shared by indexing and querying, so both sides fold the same way.
// FHIR string search is case- and accent-insensitive by default.
// See: https://hl7.org/fhir/R4/search.html#string

/** Longest folded string kept in an index entry; longer values are matched on their start. */
export const MAX_FOLDED_LENGTH = 256;

/** Lower-cases, strips combining marks (é → e) and collapses whitespace. */
export function foldString(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_FOLDED_LENGTH);
}

/** Escapes every regular-expression metacharacter so user text only ever matches literally. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
