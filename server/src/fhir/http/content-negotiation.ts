// Media types FHIR clients send and accept. This server speaks JSON only.
// See: https://hl7.org/fhir/R4/http.html#mime-type
import { OperationOutcomeError, issue } from '../outcome.ts';

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir', 'text/json']);
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);
const XML_FORMATS = new Set(['xml', 'text/xml', 'application/xml', 'application/fhir+xml', 'application/xml+fhir']);
const TURTLE_FORMATS = new Set(['ttl', 'text/turtle', 'application/x-turtle', 'application/fhir+turtle']);

export const BODY_TYPES = new Set([...JSON_TYPES, 'application/json-patch+json', 'application/x-www-form-urlencoded']);

export function mediaTypeOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return header.split(';')[0].trim().toLowerCase() || undefined;
}

/**
 * Refuses (415) a body whose Content-Type names a charset other than UTF-8: FHIR's JSON is UTF-8,
 * and a body in UTF-16 or Latin-1 read as UTF-8 would be stored garbled. The charset name is
 * case-insensitive (RFC 2046 §4.1.2); "utf8" is a common alias of it.
 * See: https://hl7.org/fhir/R4/http.html#mime-type
 */
export function assertUtf8Charset(header: string | undefined): void {
  if (!header) return;
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(header);
  if (!m) return;
  const charset = (m[1] ?? m[2]).toLowerCase();
  if (charset === 'utf-8' || charset === 'utf8') return;
  throw new OperationOutcomeError(415, [
    issue('error', 'not-supported', `The charset "${charset.slice(0, 40)}" is not supported; FHIR requires UTF-8 (charset=utf-8)`),
  ]);
}

const notAcceptable = (what: string) =>
  new OperationOutcomeError(406, [issue('error', 'not-supported', `${what} is not available: this server speaks JSON (application/fhir+json)`)]);

/** Checks _format and Accept; throws 406 when the client accepts nothing this server produces. */
export function assertAcceptsJson(format: string | undefined, accept: string | undefined): void {
  if (format !== undefined) {
    const f = format.trim().toLowerCase().split(';')[0];
    if (JSON_FORMATS.has(f)) return;
    if (XML_FORMATS.has(f)) throw notAcceptable('XML');
    if (TURTLE_FORMATS.has(f)) throw notAcceptable('Turtle');
    throw notAcceptable(`The format "${format.slice(0, 40)}"`);
  }
  if (!accept) return;
  const ranges = accept.split(',').map((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { type: type.trim(), q: q ? Number(q.slice(2)) : 1 };
  });
  const ok = ranges.some(
    (r) => r.q > 0 && (JSON_TYPES.has(r.type) || r.type === '*/*' || r.type === 'application/*'),
  );
  if (ok) return;
  const wantsXml = ranges.some((r) => XML_FORMATS.has(r.type));
  throw notAcceptable(wantsXml ? 'XML' : `None of the accepted media types (${accept.slice(0, 60)})`);
}
