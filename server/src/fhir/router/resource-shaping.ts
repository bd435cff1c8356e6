// _summary and _elements: return a subset of a resource, marked SUBSETTED.
// See: https://hl7.org/fhir/R4/search.html#summary and https://hl7.org/fhir/R4/search.html#elements
import type { Coding, FhirResource as Resource } from 'fhir/r4';
import { backboneElementFacts, elementNameOfKey, resourceElementFacts, type ElementFacts } from '../definitions.ts';
import { badRequest } from '../outcome.ts';
import type { FhirRequest } from '../types.ts';

export type SummaryMode = 'true' | 'false' | 'text' | 'data' | 'count';

const SUBSETTED: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
};

export interface Shaping {
  summary?: SummaryMode;
  elements?: string[];
}

/** Reads _summary and _elements from a request; malformed values are a 400. */
export function shapingOf(req: FhirRequest): Shaping {
  const shaping: Shaping = {};
  for (const [name, value] of req.params) {
    if (name === '_summary') {
      if (!['true', 'false', 'text', 'data', 'count'].includes(value)) {
        throw badRequest(`_summary must be one of true, false, text, data, count; got "${value}"`, ['_summary']);
      }
      shaping.summary = value as SummaryMode;
    } else if (name === '_elements') {
      const names = value.split(',').map((s) => s.trim()).filter(Boolean);
      for (const n of names) {
        if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(n)) throw badRequest(`_elements has an invalid element name "${n}"`, ['_elements']);
      }
      shaping.elements = [...(shaping.elements ?? []), ...names];
    }
  }
  if (shaping.summary && shaping.summary !== 'false' && shaping.elements) {
    throw badRequest('_summary and _elements cannot be used together', ['_summary', '_elements']);
  }
  return shaping;
}

function markSubsetted(resource: Resource): Resource {
  const meta = { ...(resource.meta ?? {}) };
  meta.tag = [...(meta.tag ?? []).filter((t) => t.code !== SUBSETTED.code), SUBSETTED];
  return { ...resource, meta } as Resource;
}

/** Applies _summary/_elements to one resource; returns it unchanged when none apply. */
export function shapeResource(resource: Resource, shaping: Shaping): Resource {
  const { summary, elements } = shaping;
  if ((!summary || summary === 'false' || summary === 'count') && !elements) return resource;
  const facts = resourceElementFacts(resource.resourceType);
  const source = resource as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const always = new Set(['resourceType', 'id', 'meta']);
  for (const key of Object.keys(source)) {
    const name = facts ? elementNameOfKey(facts, key) : key;
    let keep: boolean;
    if (always.has(key)) keep = true;
    // A choice element may be named as in the definition (value) or as in JSON (valueQuantity).
    else if (elements) keep = elements.includes(name) || elements.includes(key) || (facts?.mandatory.has(name) ?? false);
    else if (summary === 'true') keep = facts?.summary.has(name) ?? false;
    else if (summary === 'text') keep = key === 'text' || (facts?.mandatory.has(name) ?? false);
    else keep = key !== 'text'; // data
    if (!keep) continue;
    out[key] = summary === 'true' && !always.has(key) ? summaryOfElement(source[key], `${resource.resourceType}.${name}`) : source[key];
  }
  return markSubsetted(out as unknown as Resource);
}

/**
 * _summary=true inside a backbone element: its summary children only, at every level (a
 * CapabilityStatement's rest.resource keeps type, profiles and operations, not its 300 KB of
 * search parameters). Elements of datatypes are kept whole.
 */
function summaryOfElement(value: unknown, path: string): unknown {
  const backbone = backboneElementFacts(path);
  if (!backbone || typeof value !== 'object' || value === null) return value;
  const shape = (item: unknown) => (typeof item === 'object' && item !== null ? summaryOfObject(item as Record<string, unknown>, backbone) : item);
  return Array.isArray(value) ? value.map(shape) : shape(value);
}

function summaryOfObject(node: Record<string, unknown>, backbone: { path: string; facts: ElementFacts }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(node)) {
    const name = elementNameOfKey(backbone.facts, key);
    if (backbone.facts.summary.has(name)) out[key] = summaryOfElement(node[key], `${backbone.path}.${name}`);
  }
  return out;
}
