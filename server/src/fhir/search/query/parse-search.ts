// URL parameters → SearchRequest. Control parameters (_count, _sort, _include, ...) are validated
// here; parameter values are validated by the compilers, which know each parameter's type.
// See: https://hl7.org/fhir/R4/search.html
import { badRequest, notSupported } from '../../outcome.ts';
import { isResourceType, type SearchParamRegistry } from '../registry.ts';
import { splitUnescaped } from './escaping.ts';
import type { Criterion, IncludeSpec, ParamKey, SearchRequest, SummaryMode, TotalMode } from './search-request.ts';

export interface ParseOptions {
  types: string[];
  compartment?: { type: 'Patient'; id: string };
  registry: SearchParamRegistry;
  defaultCount: number;
  maxCount: number;
  /** `Prefer: handling=strict`: unknown parameters are an error instead of being ignored. */
  strict: boolean;
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

/** Why a parameter cannot be used on a type, or undefined when it can. */
export function unsupportedReason(registry: SearchParamRegistry, type: string, key: ParamKey): string | undefined {
  if (key.has) {
    const { type: hasType, param, inner } = key.has;
    if (!isResourceType(hasType)) return `_has names an unknown resource type ${hasType}`;
    const p = registry.get(hasType, param);
    if (!p || p.type !== 'reference') return `${param} is not a reference parameter of ${hasType}`;
    return unsupportedReason(registry, hasType, inner);
  }
  if (key.code === '_id' || key.code === '_lastUpdated') return key.chain ? `${key.code} cannot be chained` : undefined;
  const p = registry.get(type, key.code);
  if (!p) return `${key.code} is not a search parameter of ${type}`;
  if (!p.expression || p.type === 'special') return `${key.code} is not supported on ${type}`;
  if (key.chain) {
    if (p.type !== 'reference') return `${key.code} is not a reference parameter, it cannot be chained`;
    const targets = chainTargets(registry, p.targets, key);
    if (targets.length === 0) return `no target type of ${type}.${key.code} has the chained parameter ${key.chain.code}`;
  }
  return undefined;
}

/** Target types a chain can go to: the type modifier if given, else every target that knows the next parameter. */
export function chainTargets(registry: SearchParamRegistry, targets: string[], key: ParamKey): string[] {
  const candidates = key.modifier && isResourceType(key.modifier) ? [key.modifier] : targets;
  const next = key.chain;
  if (!next) return candidates;
  return candidates.filter((t) => unsupportedReason(registry, t, next) === undefined);
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

export function parseSearchRequest(params: Array<[string, string]>, opts: ParseOptions): SearchRequest {
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
          req.sort.push({ code, descending });
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
      case '_elements':
        req.elements = [
          ...(req.elements ?? []),
          ...value.split(',').map((e) => e.trim().replace(/^[A-Z][A-Za-z]+\./, '')).filter(Boolean),
        ];
        continue;
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
      (base === '_include' ? req.include : req.revinclude).push(spec);
      continue;
    }
    if (['_text', '_content', '_list', '_query', '_filter'].includes(base)) {
      ignore(name, `${base} is not supported by this server`);
      continue;
    }
    const key = parseParamKey(name);
    const reasons = opts.types.map((t) => unsupportedReason(opts.registry, t, key)).filter((r) => r !== undefined);
    // In a system search a parameter must apply to every searched type; otherwise it is ignored.
    if (reasons.length > 0) {
      ignore(name, reasons[0]);
      continue;
    }
    const criterion: Criterion = { name, key, values: splitUnescaped(value, ',') };
    req.criteria.push(criterion);
  }
  return req;
}
