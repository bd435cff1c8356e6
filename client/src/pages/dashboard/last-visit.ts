// When this device last showed the dashboard for a patient, to mark results that came after it.
const key = (patientId: string): string => `portal.last-visit.${patientId}`;

export function lastVisitBefore(patientId: string): string | undefined {
  return localStorage.getItem(key(patientId)) ?? undefined;
}

export function rememberVisit(patientId: string): void {
  localStorage.setItem(key(patientId), new Date().toISOString());
}
