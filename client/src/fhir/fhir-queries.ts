// The portal's reads, each a TanStack Query over the FHIR API with the user's own token. Searches
// ask the server for all pages (fhirclient follows `next` links); the server's access policy
// decides what a patient or proxy sees, so nothing is filtered here.
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import type { Appointment, Communication, DiagnosticReport, Invoice, MedicationRequest, Observation, Patient } from 'fhir/r4';
import { useSession } from '../session/session-context.tsx';

/** Every resource of a search, all pages flattened (fhirclient's pageLimit 0). */
function useSearch<T>(key: string, query: (patientId: string) => string, enabled = true): UseQueryResult<T[]> {
  const { client, patientId } = useSession();
  return useQuery({
    queryKey: [key, patientId],
    enabled,
    queryFn: async () => {
      const found = await client.request<T[]>(query(patientId), { pageLimit: 0, flat: true });
      return (found ?? []).filter(Boolean);
    },
  });
}

export function usePatient(): UseQueryResult<Patient> {
  const { client, patientId } = useSession();
  return useQuery({ queryKey: ['patient', patientId], queryFn: () => client.request<Patient>(`Patient/${encodeURIComponent(patientId)}`) });
}

/** Laboratory results, newest first. */
export const useLabResults = (): UseQueryResult<Observation[]> =>
  useSearch<Observation>('lab-results', (p) => `Observation?patient=${encodeURIComponent(p)}&category=laboratory&_sort=-date&_count=200`);

/** Reports (panels, imaging, pathology), newest first. */
export const useReports = (): UseQueryResult<DiagnosticReport[]> =>
  useSearch<DiagnosticReport>('reports', (p) => `DiagnosticReport?patient=${encodeURIComponent(p)}&_sort=-date&_count=200`);

/** Appointments from today on, soonest first. */
export const useUpcomingAppointments = (): UseQueryResult<Appointment[]> =>
  useSearch<Appointment>('upcoming-appointments', (p) => `Appointment?patient=${encodeURIComponent(p)}&date=ge${new Date().toISOString().slice(0, 10)}&_sort=date&_count=50`);

export const useMessages = (): UseQueryResult<Communication[]> =>
  useSearch<Communication>('messages', (p) => `Communication?patient=${encodeURIComponent(p)}&_sort=-sent&_count=100`);

/** Statements not yet paid. */
export const useOpenStatements = (): UseQueryResult<Invoice[]> =>
  useSearch<Invoice>('open-statements', (p) => `Invoice?patient=${encodeURIComponent(p)}&status=issued&_count=50`);

export const useMedicationRequests = (): UseQueryResult<MedicationRequest[]> =>
  useSearch<MedicationRequest>('medication-requests', (p) => `MedicationRequest?patient=${encodeURIComponent(p)}&_sort=-authoredon&_count=100`);
