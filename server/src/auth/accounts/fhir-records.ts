// The FHIR records the account flows read (Patients by MRN, RelatedPersons of a patient,
// Practitioners), through the server's own search with the server's rights: these reads happen
// before anyone holds a token (registration, forgot username) or on the clinic's behalf.
import type { AccessContext, StoredResource } from '../../fhir/types.ts';
import { MRN_SYSTEM, type PatientRecords } from './account-services.ts';

type Find = (type: string, id: string) => Promise<StoredResource | null>;
type Search = (type: string, params: Array<[string, string]>, ctx: AccessContext, limit: number) => Promise<StoredResource[]>;

const SERVER: AccessContext = { requestId: 'accounts', principal: { kind: 'server' } };
const asRecord = (s: StoredResource) => ({ id: s.resource.id, resource: s.resource as unknown as Record<string, unknown> });

export function fhirPatientRecords(find: Find, search: Search): PatientRecords {
  return {
    async read(type, id) {
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
      return ((await find(type, id))?.resource as unknown as Record<string, unknown> | undefined) ?? undefined;
    },
    async patientByMrn(mrn) {
      const value = mrn.trim();
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(value)) return undefined;
      const found = await search('Patient', [['identifier', `${MRN_SYSTEM}|${value}`]], SERVER, 2);
      return found.length === 1 ? asRecord(found[0]) : undefined;
    },
    async relatedPersonsOf(patientId) {
      return (await search('RelatedPerson', [['patient', `Patient/${patientId}`]], SERVER, 50)).map(asRecord);
    },
    async searchPatients(text, limit) {
      const q = text.trim();
      if (!q) return [];
      if (/^\d[\d\-]*$/.test(q)) return (await search('Patient', [['identifier', `${MRN_SYSTEM}|${q}`]], SERVER, limit)).map(asRecord);
      return (await search('Patient', [['name', q]], SERVER, limit)).map(asRecord);
    },
  };
}
