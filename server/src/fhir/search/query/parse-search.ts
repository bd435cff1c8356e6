// URL parameters → SearchRequest. Control parameters (_count, _sort, _include, ...) are validated
// here; parameter values are validated by the compilers, which know each parameter's type.
// See: https://hl7.org/fhir/R4/search.html
import { badRequest, notSupported } from '../../outcome.ts';
import { isResourceType, type SearchParamRegistry } from '../registry.ts';
import { chainLinks, firstWideStep, planKey, typedExample, type KeyPlan } from './chain-plan.ts';
import { splitUnescaped } from './escaping.ts';
import { assertWithin, distinct, distinctParams, limitExceeded, type SearchLimits } from './search-limits.ts';
import type { IncludeSpec, ParamKey, SearchRequest, SummaryMode, TotalMode } from './search-request.ts';

export interface ParseOptions {
  types: string[];
  compartment?: { type: 'Patient'; id: string };
  registry: SearchParamRegistry;
  defaultCount: number;
  maxCount: number;
  /** `Prefer: handling=strict`: unknown parameters are an error instead of being ignored. */
  strict: boolean;
  limits: SearchLimits;
}

/** Parameters about the response format that the HTTP layer handles. */
const FORMAT_PARAMS = new Set(['_format', '_pretty']);

export function parseParamKey(name: string): ParamKey {
  if (name.startsWith('_has:')) {
    const parts = name.split(':');
    if (parts.length < 4 || !parts[1] || !parts[2] || !parts[3]) {
      throw badRequest(`_has must be written _has:Type:parameter:criterion, got "${name}"`, [name]);
    }
    return { code: '_has', has: { type: parts[1], param: parts[2], inner: parseParamKey(parts.slice(3).join(':')) } };
  }
  const dot = name.indexOf('.');
  const head = dot >= 0 ? name.slice(0, dot) : name;
  const colon = head.indexOf(':');
  const key: ParamKey = { code: colon >= 0 ? head.slice(0, colon) : head };
  if (colon >= 0) key.modifier = head.slice(colon + 1);
  if (dot >= 0) key.chain = parseParamKey(name.slice(dot + 1));
  return key;
}

function parseCount(value: string, max: number): number {
  if (!/^\d{1,9}$/.test(value)) throw badRequest(`_count must be a non-negative integer, got "${value}"`, ['_count']);
  return Math.min(Number(value), max);
}

function parseInclude(value: string, name: string, iterate: boolean): IncludeSpec {
  const parts = value.split(':');
  if (parts.length === 1 && parts[0] === '*') return { sourceType: '*', param: '*', iterate };
  if (parts.length < 2 || parts.length > 3 || !isResourceType(parts[0]) || !parts[1]) {
    throw badRequest(`${name} must be Type:parameter[:targetType] or *, got "${value}"`, [name]);
  }
  if (parts[2] !== undefined && !isResourceType(parts[2])) {
    throw badRequest(`${name} target type ${parts[2]} is not a resource type`, [name]);
  }
  return { sourceType: parts[0], param: parts[1], targetType: parts[2], iterate };
}

/** An include spec's identity: `_include=*` twice, or `:iterate` and `:recurse` (its R3 name), is one spec. */
const includeKey = (kind: string, s: IncludeSpec) => `${kind} ${s.sourceType}:${s.param}:${s.targetType ?? ''}:${s.iterate}`;

/** Refuses a chain with a step that would search too many types, naming the first such step. */
function assertChainFanOut(plan: KeyPlan, type: string, key: ParamKey, name: string, opts: ParseOptions): void {
  const { limits, registry } = opts;
  if (!plan.widest || plan.widest.targets <= limits.maxChainTargets) return;
  const wide = firstWideStep(registry, type, key, limits.maxChainTargets);
  const step = wide ? `step ${wide.step} of the chain (${wide.code} from ${wide.type})` : `a step of the chain (${plan.widest.code})`;
  throw limitExceeded(
    limits,
    'maxChainTargets',
    `${name}: ${step} would search ${wide?.targets ?? plan.widest.targets} resource types`,
    [name],
    `Name the types with modifiers, e.g. ${typedExample(registry, type, key)}`,
  );
}

export function parseSearchRequest(rawParams: Array<[string, string]>, opts: ParseOptions): SearchRequest {
  const { limits } = opts;
  const params = distinctParams(rawParams);
  assertWithin(limits, 'maxParameters', params.length, () => `The search has ${params.length} different parameters`);
  const req: SearchRequest = {
    types: opts.types,
    criteria: [],
    compartment: opts.compartment,
    sort: [],
    count: opts.defaultCount,
    include: [],
    revinclude: [],
    ignored: [],
  };
  const ignore = (name: string, reason: string) => {
    if (opts.strict) throw badRequest(`${reason} (Prefer: handling=strict)`, [name]);
    req.ignored.push({ name, reason });
  };
  const includeKeys = new Set<string>();
  let subQueries = 0;
  let costliest: { name: string; type: string; key: ParamKey; plan: KeyPlan } | undefined;
  for (const [name, value] of params) {
    if (FORMAT_PARAMS.has(name)) continue;
    switch (name) {
      case '_type':
        continue; // resolved by the caller into opts.types
      case '_count':
        req.count = parseCount(value, opts.maxCount);
        continue;
      case '_cursor':
        req.cursor = value;
        continue;
      case '_sort':
        for (const part of value.split(',')) {
          const descending = part.startsWith('-');
          const code = descending ? part.slice(1) : part;
          if (!code) throw badRequest(`_sort has an empty key in "${value}"`, ['_sort']);
          // A repeated key cannot change the order: the first one decides.
          if (req.sort.some((k) => k.code === code)) continue;
          req.sort.push({ code, descending });
          assertWithin(limits, 'maxSortKeys', req.sort.length, () => `_sort has more than ${limits.maxSortKeys} keys`, ['_sort']);
        }
        continue;
      case '_total':
        if (!['none', 'estimate', 'accurate'].includes(value)) {
          throw badRequest(`_total must be none, estimate or accurate, got "${value}"`, ['_total']);
        }
        req.total = value as TotalMode;
        continue;
      case '_summary':
        if (!['true', 'false', 'count', 'data', 'text'].includes(value)) {
          throw badRequest(`_summary must be true, false, count, data or text, got "${value}"`, ['_summary']);
        }
        req.summary = value as SummaryMode;
        continue;
      case '_elements': {
        const elements = distinct([
          ...(req.elements ?? []),
          ...value.split(',').map((e) => e.trim().replace(/^[A-Z][A-Za-z]+\./, '')).filter(Boolean),
        ]);
        assertWithin(limits, 'maxElements', elements.length, () => `_elements names ${elements.length} elements`, ['_elements']);
        req.elements = elements;
        continue;
      }
      case '_contained':
        if (value !== 'false') throw notSupported('_contained searches are not supported (only _contained=false)');
        continue;
      case '_containedType':
        if (value !== 'container') throw notSupported('_containedType=contained is not supported');
        continue;
    }
    const base = name.split(':')[0];
    if (base === '_include' || base === '_revinclude') {
      const mod = name.slice(base.length + 1);
      if (mod && mod !== 'iterate' && mod !== 'recurse') throw badRequest(`${name}: unknown modifier "${mod}"`, [name]);
      const spec = parseInclude(value, name, mod !== '');
      const key = includeKey(base, spec);
      if (includeKeys.has(key)) continue;
      includeKeys.add(key);
      assertWithin(limits, 'maxIncludes', includeKeys.size, () => `The search has more than ${limits.maxIncludes} _include and _revinclude specs`, [name]);
      (base === '_include' ? req.include : req.revinclude).push(spec);
      continue;
    }
    if (['_text', '_content', '_list', '_query', '_filter'].includes(base)) {
      ignore(name, `${base} is not supported by this server`);
      continue;
    }
    // Counted on the text first: parsing a name recurses once per hop.
    const links = chainLinks(name);
    assertWithin(limits, 'maxChainDepth', links, () => `${name.slice(0, 200)} has ${links} chain steps`, [name.slice(0, 200)]);
    const key = parseParamKey(name);
    const plans = opts.types.map((t) => planKey(opts.registry, t, key));
    const reasons = plans.map((p) => p.reason).filter((r) => r !== undefined);
    // In a system search a parameter must apply to every searched type; otherwise it is ignored.
    if (reasons.length > 0) {
      ignore(name, reasons[0]);
      continue;
    }
    const values = distinct(splitUnescaped(value, ','));
    assertWithin(limits, 'maxValuesPerParameter', values.length, () => `${name} has ${values.length} values`, [name]);
    for (const [i, plan] of plans.entries()) {
      assertChainFanOut(plan, opts.types[i], key, name, opts);
      subQueries += plan.subQueries;
      if (plan.subQueries > 0 && (!costliest || plan.subQueries > costliest.plan.subQueries)) costliest = { name, type: opts.types[i], key, plan };
    }
    req.criteria.push({ name, key, values });
  }
  if (costliest) {
    const { name, type, key, plan } = costliest;
    assertWithin(
      limits,
      'maxSubQueries',
      subQueries,
      () => `The search would run ${subQueries} chain and _has sub-queries (${name} alone ${plan.subQueries})`,
      [name],
      `Narrow the chains with type modifiers (e.g. ${typedExample(opts.registry, type, key)})${opts.types.length > 1 ? ' or search fewer types' : ''}`,
    );
  }
  return req;
}
