// Groups defined by characteristics rather than by a list (Group.actual = false): "the patients
// whose managing organization is Organization/X". For a Group export, each characteristic is read
// as a Patient search parameter (its code) and a value, and the members are the Patients that
// search finds for the client (its access rules apply), read page by page with keyset paging.
// See: https://hl7.org/fhir/R4/group.html (characteristic) and
// https://hl7.org/fhir/uv/bulkdata/export.html#endpoint---group-of-patients
import type { Bundle, Group } from 'fhir/r4';
import { badRequest, OperationOutcomeError, issue } from '../outcome.ts';
import type { FhirServices } from '../router/services.ts';
import type { AccessContext, FhirRequest } from '../types.ts';

/** Most members a characteristic Group may have for an export (their ids travel with the job). */
export const MAX_CHARACTERISTIC_MEMBERS = 100_000;

/** The search a Group's characteristics stand for, as Patient search parameters. */
export function characteristicSearch(group: Group, patientParams: ReadonlySet<string>): Array<[string, string]> {
  const params: Array<[string, string]> = [];
  for (const c of group.characteristic ?? []) {
    const code = c.code.coding?.[0]?.code ?? c.code.text ?? '';
    if (!patientParams.has(code)) {
      throw badRequest(`Group characteristic "${code.slice(0, 60)}" is not a Patient search parameter; this server exports Groups whose characteristics are (e.g. organization)`);
    }
    if (c.exclude) throw badRequest('Group characteristics with exclude = true are not supported for export');
    let value: string | undefined;
    if (c.valueReference?.reference) value = c.valueReference.reference;
    else if (c.valueCodeableConcept?.coding?.[0]?.code) {
      const coding = c.valueCodeableConcept.coding[0];
      value = coding.system ? `${coding.system}|${coding.code}` : coding.code;
    } else if (c.valueBoolean !== undefined) value = String(c.valueBoolean);
    if (value === undefined) throw badRequest(`Group characteristic ${code}: only reference, coded and boolean values are supported for export`);
    params.push([code, value]);
  }
  return params;
}

/** The ids of the Patients the characteristics select, as the client sees them. */
export async function characteristicMembers(services: FhirServices, ctx: AccessContext, params: Array<[string, string]>): Promise<string[]> {
  const search = services.search!;
  const request: FhirRequest = { method: 'GET', path: 'Patient', params: [], headers: {} };
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await search.prepared(request, ctx, {
      types: ['Patient'],
      params: [...params, ['_count', '1000'], ['_total', 'none'], ['_elements', 'id'], ...(cursor ? [['_cursor', cursor] as [string, string]] : [])],
      linkParams: params,
      path: 'Patient',
    });
    const bundle = page.body as Bundle;
    for (const e of bundle.entry ?? []) if (e.search?.mode === 'match' && e.resource?.id) ids.push(e.resource.id);
    if (ids.length > MAX_CHARACTERISTIC_MEMBERS) {
      throw new OperationOutcomeError(400, [issue('error', 'too-costly', `The Group's characteristics select more than ${MAX_CHARACTERISTIC_MEMBERS} patients; narrow them`)]);
    }
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    cursor = next ? (new URL(next).searchParams.get('_cursor') ?? undefined) : undefined;
  } while (cursor);
  return ids;
}
