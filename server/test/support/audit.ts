// Reading the audit trail in tests: AuditEvents are written in batches a moment after the
// request, so the helpers ask the API until the expected events are there (or time runs out).
import type { AuditEvent, Bundle } from 'fhir/r4';
import { fhirFetch } from './http.ts';

/** The AuditEvents a search finds, waiting up to `waitMs` for at least `atLeast` of them. */
export async function auditEvents(
  fhirUrl: string,
  query: string,
  o: { atLeast?: number; waitMs?: number; headers?: Record<string, string> } = {},
): Promise<AuditEvent[]> {
  const atLeast = o.atLeast ?? 1;
  const deadline = Date.now() + (o.waitMs ?? 8_000);
  for (;;) {
    const res = await fhirFetch<Bundle<AuditEvent>>(`${fhirUrl}/AuditEvent?${query}${query ? '&' : ''}_count=200`, { headers: o.headers });
    if (res.status !== 200) throw new Error(`AuditEvent search answered ${res.status}: ${res.text.slice(0, 500)}`);
    const events = (res.body.entry ?? []).map((e) => e.resource!).filter((r) => r.resourceType === 'AuditEvent');
    if (events.length >= atLeast || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The events of one request, by its X-Request-Id (BALP's XrequestId entity). */
export const eventsOfRequest = (fhirUrl: string, requestId: string, atLeast = 1): Promise<AuditEvent[]> =>
  auditEvents(fhirUrl, `entity:identifier=${encodeURIComponent(requestId)}`, { atLeast });

/** A fresh request id, to find what one request recorded. */
export const requestId = (label: string): string => `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export const patientsIn = (e: AuditEvent): string[] =>
  (e.entity ?? []).filter((x) => x.role?.code === '1' && x.what?.reference?.startsWith('Patient/')).map((x) => x.what!.reference!.slice('Patient/'.length));

export const referencesIn = (e: AuditEvent): string[] => (e.entity ?? []).filter((x) => x.role?.code === '4').map((x) => x.what!.reference!);

export const subtypeCodes = (e: AuditEvent): string[] => (e.subtype ?? []).map((c) => c.code!);

export const clientOf = (e: AuditEvent): string | undefined => e.agent.find((a) => a.type?.coding?.[0]?.code === '110153')?.who?.identifier?.value;

export const personOf = (e: AuditEvent): string | undefined => e.agent.find((a) => a.requestor && a.who?.reference)?.who?.reference;
