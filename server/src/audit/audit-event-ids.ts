// AuditEvent ids derived from where the event comes from in the journal: the journal document, the
// record's place in it and the event's place among the record's events (one per patient). A
// materializer that stopped half-way, or two that raced for one document, write the same ids again,
// and the store keeps one event per id: nothing is duplicated, nothing replaced.
import { createHash } from 'node:crypto';

/** A UUID-shaped id (as the trail's ids were before the journal), from a SHA-256 of the event's place. */
export function auditEventId(journalId: string, record: number, event: number): string {
  const h = createHash('sha256').update(`${journalId}/${record}/${event}`).digest('hex');
  // Version 8 ("custom") and the RFC 9562 variant bits, so it is a well-formed UUID.
  const variant = (8 | (parseInt(h[16], 16) & 3)).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
