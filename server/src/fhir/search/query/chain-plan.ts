// What a chained or reverse-chained (_has) parameter would do on a type, worked out before any
// query runs: whether it can be used, which types each chain step searches, how many database
// sub-queries it takes. Search limits are checked against this plan.
//
// Why memoized: a reference that may point at any type (Library.derived-from: 145 types) makes
// every chain step consider every type again. Worked out afresh at each step, a three-step chain
// took a minute on an empty database (145 × 11 × 11 … checks, then as many sub-queries). Each
// (parameter key, type) pair is now planned once, so planning is linear in the chain's length
// times the number of types; the sub-query count is a number multiplied, not work done.
// See: https://hl7.org/fhir/R4/search.html#chaining and https://hl7.org/fhir/R4/search.html#has
import { isResourceType, type SearchParamRegistry } from '../registry.ts';
import type { ParamKey } from './search-request.ts';

export interface KeyPlan {
  /** Why the key cannot be used on the type; undefined when it can. */
  reason?: string;
  /** A chain step: the types its sub-queries search (the :Type modifier's, or every target that knows the next parameter). */
  targets: string[];
  /** Database sub-queries a criterion with this key runs on this type (each chain target and each _has is one). */
  subQueries: number;
  /** The chain step with the most targets (its type and parameter), for limit checks. */
  widest?: { type: string; code: string; targets: number };
}

/** Plans per key object and type; a WeakMap, so they live as long as the parsed request. */
const plans = new WeakMap<ParamKey, { registry: SearchParamRegistry; byType: Map<string, KeyPlan> }>();

const unusable = (reason: string): KeyPlan => ({ reason, targets: [], subQueries: 0 });

/** The plan of `key` on `type` (memoized per key object and type). */
export function planKey(registry: SearchParamRegistry, type: string, key: ParamKey): KeyPlan {
  let entry = plans.get(key);
  if (!entry || entry.registry !== registry) plans.set(key, (entry = { registry, byType: new Map() }));
  let plan = entry.byType.get(type);
  if (!plan) {
    plan = computePlan(registry, type, key);
    entry.byType.set(type, plan);
  }
  return plan;
}

function computePlan(registry: SearchParamRegistry, type: string, key: ParamKey): KeyPlan {
  if (key.has) {
    const { type: hasType, param, inner } = key.has;
    if (!isResourceType(hasType)) return unusable(`_has names an unknown resource type ${hasType}`);
    const p = registry.get(hasType, param);
    if (!p || p.type !== 'reference') return unusable(`${param} is not a reference parameter of ${hasType}`);
    const innerPlan = planKey(registry, hasType, inner);
    if (innerPlan.reason) return innerPlan;
    return { targets: [], subQueries: 1 + innerPlan.subQueries, widest: innerPlan.widest };
  }
  if (key.code === '_id' || key.code === '_lastUpdated') {
    return key.chain ? unusable(`${key.code} cannot be chained`) : { targets: [], subQueries: 0 };
  }
  const p = registry.get(type, key.code);
  if (!p) return unusable(`${key.code} is not a search parameter of ${type}`);
  if (!p.expression || p.type === 'special') return unusable(`${key.code} is not supported on ${type}`);
  const next = key.chain;
  if (!next) return { targets: [], subQueries: 0 };
  if (p.type !== 'reference') return unusable(`${key.code} is not a reference parameter, it cannot be chained`);
  const candidates = key.modifier && isResourceType(key.modifier) ? [key.modifier] : p.targets;
  const targets: string[] = [];
  let subQueries = 0;
  let widest: KeyPlan['widest'];
  for (const t of candidates) {
    const sub = planKey(registry, t, next);
    if (sub.reason) continue;
    targets.push(t);
    subQueries += 1 + sub.subQueries;
    if (sub.widest && (!widest || sub.widest.targets > widest.targets)) widest = sub.widest;
  }
  if (targets.length === 0) return unusable(`no target type of ${type}.${key.code} has the chained parameter ${next.code}`);
  if (!widest || targets.length >= widest.targets) widest = { type, code: key.code, targets: targets.length };
  return { targets, subQueries, widest };
}

/** A chain step, numbered from 1, for messages. */
export interface ChainStep {
  step: number;
  type: string;
  code: string;
  targets: number;
}

/** The first chain step (outermost first) that would search more than `max` types. */
export function firstWideStep(registry: SearchParamRegistry, type: string, key: ParamKey, max: number, step = 1): ChainStep | undefined {
  if (key.has) return firstWideStep(registry, key.has.type, key.has.inner, max, step + 1);
  const plan = planKey(registry, type, key);
  if (!key.chain || plan.reason) return undefined;
  if (plan.targets.length > max) return { step, type, code: key.code, targets: plan.targets.length };
  for (const t of plan.targets) {
    const wide = firstWideStep(registry, t, key.chain, max, step + 1);
    if (wide) return wide;
  }
  return undefined;
}

/**
 * The parameter name with a type modifier on every chain step, for messages that suggest one
 * (`derived-from.name` → `derived-from:Library.name`): the type searched when a step may lead
 * back to it, else the first possible one.
 */
export function typedExample(registry: SearchParamRegistry, type: string, key: ParamKey): string {
  if (key.has) return `_has:${key.has.type}:${key.has.param}:${typedExample(registry, key.has.type, key.has.inner)}`;
  if (!key.chain) return key.modifier ? `${key.code}:${key.modifier}` : key.code;
  const { targets } = planKey(registry, type, key);
  const next = targets.includes(type) ? type : (targets[0] ?? type);
  return `${key.code}:${next}.${typedExample(registry, next, key.chain)}`;
}

/**
 * Reference hops of a parameter name (each chain step and each _has), counted on the text, so that
 * an absurdly deep name is refused before it is parsed (parsing recurses per hop).
 */
export function chainLinks(name: string): number {
  let links = 0;
  for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) links++;
  for (let i = name.indexOf('_has:'); i >= 0; i = name.indexOf('_has:', i + 1)) links++;
  return links;
}
