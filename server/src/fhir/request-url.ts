// Decoding the parts of a FHIR request's URL so that what a client percent-encoded is read as it
// meant it, or refused: never silently turned into something else.
// See: https://hl7.org/fhir/R4/http.html#general and https://www.rfc-editor.org/rfc/rfc3986#section-2.2
import { badRequest } from './outcome.ts';

/**
 * The path's segments, decoded one by one and joined with "/" (empty segments dropped).
 * Splitting first and decoding after keeps an encoded slash (%2F) data, never a separator:
 * decoding first made `Patient/a%2Fb` read as `Patient/a/b` and `Patient/%2F` as a Patient
 * search. No segment of a FHIR path (a type, an id, a version, an operation, _history, _search)
 * can hold a "/", so one that decodes to it is refused.
 */
export function decodeRequestPath(rawPath: string, where = 'The URL path'): string {
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw badRequest(`${where} cannot be decoded: "${raw.slice(0, 60)}" is not valid percent-encoded UTF-8`);
    }
    if (segment.includes('/')) {
      throw badRequest(`${where} has an encoded "/" in "${raw.slice(0, 60)}"; no part of a FHIR path (type, id, operation) can hold one`);
    }
    segments.push(segment);
  }
  return segments.join('/');
}

/**
 * Name/value pairs of a query string or form body, in order. URLSearchParams alone replaces
 * percent-escapes that are not UTF-8 (%FF, an encoded surrogate) with U+FFFD and keeps a "%" that
 * starts no escape: a search or conditional write would then look for something the client never
 * sent. Those are refused instead.
 */
export function decodeQueryParams(query: string, where = 'The query string'): Array<[string, string]> {
  if (query.includes('%')) {
    for (const part of query.split(/[&=]/)) {
      try {
        decodeURIComponent(part);
      } catch {
        throw badRequest(`${where} cannot be decoded: "${part.slice(0, 60)}" is not valid percent-encoded UTF-8`);
      }
    }
  }
  return [...new URLSearchParams(query).entries()];
}
