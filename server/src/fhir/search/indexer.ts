// The ResourceIndexer the repository calls on every write: partition key (patient, patients) and
// the search index values (sp) of every search parameter of the resource's type.
import type { Resource } from 'fhir/r4';
import type { ResourceIndexer, ResourceIndexFields } from '../repo/stored-document.ts';
import { searchParamRegistry, type SearchParamRegistry } from './registry.ts';
import { indexValues } from './index-values/param-index.ts';
import type { ReferenceIndex } from './index-values/shapes.ts';
import { patientCompartmentParams } from './compartment.ts';

/** Parameters answered from top-level document fields instead of sp (see compile). */
export const TOP_LEVEL_PARAMS = new Set(['_id', '_lastUpdated']);

export interface IndexerOptions {
  baseUrl: string;
  registry?: SearchParamRegistry;
  /** More top-level fields computed from the resource (the release time of results). */
  extra?: (resource: Resource) => Partial<ResourceIndexFields>;
}

export function createResourceIndexer(opts: IndexerOptions): ResourceIndexer {
  const registry = opts.registry ?? searchParamRegistry();
  return (resource: Resource): ResourceIndexFields => {
    const type = resource.resourceType;
    const sp: Record<string, unknown> = {};
    for (const param of registry.all(type)) {
      if (TOP_LEVEL_PARAMS.has(param.code) || !param.expression) continue;
      let values;
      try {
        values = param.evaluate(resource);
      } catch {
        // A definition whose expression cannot run on this resource indexes nothing rather than
        // failing the write; the resource was already validated.
        continue;
      }
      const idx = indexValues(param, values, { baseUrl: opts.baseUrl });
      if (idx !== undefined) sp[param.code] = idx;
    }
    const out: ResourceIndexFields = { sp };
    const patients: string[] = [];
    if (type === 'Patient' && resource.id) patients.push(resource.id);
    for (const code of patientCompartmentParams(type)) {
      const idx = sp[code] as ReferenceIndex | undefined;
      for (const r of idx?.r ?? []) {
        if (r.startsWith('Patient/')) {
          const id = r.slice('Patient/'.length);
          if (!patients.includes(id)) patients.push(id);
        }
      }
    }
    if (patients.length > 0) out.patient = patients[0];
    if (patients.length > 1) out.patients = patients;
    if (opts.extra) {
      for (const [key, value] of Object.entries(opts.extra(resource))) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
    }
    return out;
  };
}
