// Invariants (ElementDefinition.constraint) evaluated with fhirpath.js and the R4 model.
// See: https://hl7.org/fhir/R4/conformance-rules.html#constraints
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4/index.js';
import type { ElementDefinitionConstraint } from 'fhir/r4';

const BEST_PRACTICE = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice';

// Functions fhirpath.js cannot answer synchronously without a terminology server or resolver;
// an invariant using them is skipped rather than failing every resource.
const UNSUPPORTED = /\b(htmlChecks|conformsTo|memberOf|resolve|subsumes|subsumedBy)\s*\(/;

// Already enforced by the JSON schema (ele-1: every element has a value or children).
const COVERED_BY_SCHEMA = new Set(['ele-1']);

/** Whether the validator evaluates this constraint at all. */
export function isCheckable(c: ElementDefinitionConstraint): boolean {
  if (!c.expression || COVERED_BY_SCHEMA.has(c.key)) return false;
  if (c.extension?.some((e) => e.url === BEST_PRACTICE && e.valueBoolean)) return false;
  return !UNSUPPORTED.test(c.expression);
}

type Compiled = (data: unknown, env?: Record<string, unknown>) => unknown[];
const compiled = new Map<string, Compiled | null>();

function compiledFor(expression: string, base: string): Compiled | null {
  const key = `${base}\u0000${expression}`;
  let fn = compiled.get(key);
  if (fn === undefined) {
    try {
      // trace() (dom-3 uses it) would print to stdout; invariants are silent.
      fn = fhirpath.compile({ base, expression }, r4Model, { traceFn: () => {} }) as unknown as Compiled;
    } catch {
      fn = null;
    }
    compiled.set(key, fn);
  }
  return fn;
}

export type InvariantResult = 'pass' | 'fail' | 'error';

/**
 * Evaluates one invariant on one element value. `base` is the element's type path with the
 * concrete choice name ("Observation.effectiveDateTime") so fhirpath knows the value's type.
 * An empty result counts as satisfied: invariants are written so that absence is not a failure.
 */
export function evaluateInvariant(
  constraint: ElementDefinitionConstraint,
  base: string,
  value: unknown,
  resource: unknown,
): InvariantResult {
  const fn = compiledFor(constraint.expression!, base);
  if (!fn) return 'error';
  try {
    const result = fn(value, { resource, rootResource: resource });
    if (result.length === 0) return 'pass';
    return result.length === 1 && result[0] === false ? 'fail' : 'pass';
  } catch {
    return 'error';
  }
}
