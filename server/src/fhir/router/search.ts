// The search interactions: type search (GET /{type}, POST /{type}/_search), system search
// (GET /?_type=...), Patient compartment search (GET /Patient/{id}/{type}), and the matcher that
// conditional create/update/delete use. Each returns a searchset Bundle.
// See: https://hl7.org/fhir/R4/http.html#search and https://hl7.org/fhir/R4/search.html
import type { Bundle, BundleEntry, BundleLink, FhirResource } from 'fhir/r4';
import type { Document } from 'mongodb';
import type { ServerConfig } from '../../config.ts';
import { resourceElementFacts } from '../definitions.ts';
import { badRequest, issue, outcome } from '../outcome.ts';
import { toStoredResource } from '../repo/resource-repository.ts';
import { parseSearchRequest } from '../search/query/parse-search.ts';
import { distinctParams } from '../search/query/search-limits.ts';
import type { IncludeSpec, SearchRequest } from '../search/query/search-request.ts';
import { isResourceType, searchParamRegistry, type SearchParamRegistry } from '../search/registry.ts';
import { compileFilter, runSearch, type SearchEnvironment } from '../search/execute/run-search.ts';
import type { TypedDoc } from '../search/execute/includes.ts';
import type { AccessContext, FhirInteraction, FhirRequest, FhirResponse, StoredResource } from '../types.ts';
import { preferStrictHandling } from './http-semantics.ts';
import { shapeResource } from './resource-shaping.ts';

export interface SearchDependencies {
  db: SearchEnvironment['db'];
  config: ServerConfig;
  registry?: SearchParamRegistry;
  /**
   * Access rules as a MongoDB condition per type for this caller, ANDed into every query before
   * paging (matches, _include/_revinclude, chain and _has sub-queries). Undefined: no restriction.
   */
  restrict?: (type: string, ctx: AccessContext) => ReturnType<SearchEnvironment['restrict']>;
  keyHints?: SearchEnvironment['keyHints'];
  /** Keeps searches from overlapping a transaction's apply step (repo/transaction-visibility.ts). */
  visibility?: { read<T>(search: () => Promise<T>): Promise<T> };
  /** Throws 403 when the caller may not search the type at all (access/). */
  assertSearchable?: (type: string, ctx: AccessContext) => void;
}

/** A search an operation prepares (Patient/$everything): several types, one compartment, includes. */
export interface PreparedSearch {
  types: string[];
  /** Search parameters (criteria, _count, _cursor) as the search parser reads them. */
  params: Array<[string, string]>;
  compartment?: SearchRequest['compartment'];
  include?: IncludeSpec[];
  /** The operation's own parameters, repeated by the page links (with _cursor). */
  linkParams: Array<[string, string]>;
  /** Path of the page links below the FHIR base, e.g. Patient/123/$everything. */
  path: string;
  /**
   * Conditions per searched type, ANDed into its query beside the access restriction (bulk
   * export: the patients of a Group, the export's time window, its _typeFilter queries).
   */
  conditions?: Record<string, Document>;
}

export interface SearchInteractions {
  type: FhirInteraction;
  system: FhirInteraction;
  compartment: FhirInteraction;
  /** Runs a prepared search through the same code as every search (access, paging, links). */
  prepared(req: FhirRequest, ctx: AccessContext, search: PreparedSearch): Promise<FhirResponse>;
  /** True when the caller may search the type at all (has a scope for it). */
  searchable(type: string, ctx: AccessContext): boolean;
  parametersOf(type: string): Array<{ name: string; type: string; definition?: string; documentation?: string }>;
  findMatches(type: string, params: Array<[string, string]>, ctx: AccessContext, limit: number): Promise<StoredResource[]>;
  /**
   * Search parameters of a type as one database condition: unrestricted (granular scopes), or
   * with the caller's access rules in its chains and _has (bulk export's _typeFilter).
   */
  compileConditions(type: string, params: Array<[string, string]>, ctx?: AccessContext): Promise<Document>;
}

/** The patients whose records a page holds resources of (for the audit trail). */
function patientsIn(...lists: TypedDoc[][]): string[] {
  const patients = new Set<string>();
  for (const list of lists) {
    for (const { doc } of list) {
      if (doc.patients) for (const p of doc.patients) patients.add(p);
      else if (doc.patient) patients.add(doc.patient);
    }
  }
  return [...patients];
}

export function createSearchInteractions(deps: SearchDependencies): SearchInteractions {
  const registry = deps.registry ?? searchParamRegistry();
  // What _summary and _elements keep is read from the core definitions on first use: a quarter
  // of a second of the event loop, which the first such search would hold every request up for.
  resourceElementFacts('Patient');
  const fhirBase = `${deps.config.baseUrl}/fhir`;
  const run = (sreq: SearchRequest, env: SearchEnvironment) =>
    deps.visibility ? deps.visibility.read(() => runSearch(sreq, env)) : runSearch(sreq, env);
  const envFor = (ctx: AccessContext): SearchEnvironment => ({
    db: deps.db,
    registry,
    baseUrl: fhirBase,
    restrict: (type) => deps.restrict?.(type, ctx),
    keyHints: deps.keyHints,
    limits: deps.config.searchLimits,
  });
  /** Parses the request's parameters without exact repeats (`params`: what is searched and what the links repeat). */
  const parse = (req: FhirRequest, params: Array<[string, string]>, types: string[], compartment?: SearchRequest['compartment']) =>
    parseSearchRequest(params, {
      types,
      compartment,
      registry,
      defaultCount: deps.config.defaultPageSize,
      maxCount: deps.config.maxPageSize,
      strict: preferStrictHandling(req),
      limits: deps.config.searchLimits,
    });

  const respond = async (
    params: Array<[string, string]>,
    ctx: AccessContext,
    sreq: SearchRequest,
    path: string,
    env: SearchEnvironment = envFor(ctx),
  ): Promise<FhirResponse> => {
    const result = await run(sreq, env);
    const shaping = { summary: sreq.summary, elements: sreq.elements };
    const entry = (t: TypedDoc, mode: 'match' | 'include'): BundleEntry => ({
      fullUrl: `${fhirBase}/${t.type}/${t.doc._id}`,
      resource: shapeResource(toStoredResource(t.doc).resource as FhirResource, shaping),
      search: { mode },
    });
    const entries: BundleEntry[] = [
      ...result.matches.map((m) => entry(m, 'match')),
      ...result.includes.map((m) => entry(m, 'include')),
    ];
    const notes = [
      ...sreq.ignored.map((i) => issue('warning', 'not-supported', `Parameter ${i.name} was ignored: ${i.reason}`, [i.name])),
      ...result.warnings.map((w) => issue('warning', 'too-costly', w)),
    ];
    if (notes.length > 0) entries.push({ resource: outcome(notes), search: { mode: 'outcome' } });
    const link = (relation: string, cursor?: string | null): BundleLink => {
      const linked = params.filter(([k]) => k !== '_cursor');
      if (cursor) linked.push(['_cursor', cursor]);
      const qs = new URLSearchParams(linked).toString();
      return { relation, url: `${fhirBase}/${path}${qs ? `?${qs}` : ''}` };
    };
    const links = [link('self', sreq.cursor)];
    if (result.next) links.push(link('next', result.next));
    if (result.previous) links.push(link('previous', result.previous));
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset' };
    if (result.total !== undefined) bundle.total = result.total;
    bundle.link = links;
    if (entries.length > 0) bundle.entry = entries;
    return { status: 200, body: bundle, audit: { patients: patientsIn(result.matches, result.includes) } };
  };

  const searchable = (type: string, ctx: AccessContext): boolean => {
    try {
      deps.assertSearchable?.(type, ctx);
      return true;
    } catch {
      return false;
    }
  };

  const typeSearch: FhirInteraction = async (req, ctx) => {
    const type = req.path.split('/')[0];
    deps.assertSearchable?.(type, ctx);
    const params = distinctParams(req.params);
    return respond(params, ctx, parse(req, params, [type]), type);
  };

  const systemSearch: FhirInteraction = async (req, ctx) => {
    const params = distinctParams(req.params);
    const typeParams = params.filter(([k]) => k === '_type').flatMap(([, v]) => v.split(','));
    for (const t of typeParams) if (!isResourceType(t)) throw badRequest(`_type: ${t} is not a resource type`, ['_type']);
    let types = [...new Set(typeParams)];
    for (const t of types) deps.assertSearchable?.(t, ctx);
    if (types.length === 0) {
      // Without _type every stored type the caller may search is searched (collections that exist hold resources).
      const names = await deps.db.listCollections({}, { nameOnly: true }).toArray();
      types = names.map((c) => c.name).filter(isResourceType).filter((t) => searchable(t, ctx)).sort();
    }
    return respond(params, ctx, parse(req, params, types), '');
  };

  const compartmentSearch: FhirInteraction = async (req, ctx) => {
    const [, id, type] = req.path.split('/');
    deps.assertSearchable?.(type, ctx);
    const params = distinctParams(req.params);
    return respond(params, ctx, parse(req, params, [type], { type: 'Patient', id }), `Patient/${id}/${type}`);
  };

  const prepared = async (req: FhirRequest, ctx: AccessContext, search: PreparedSearch): Promise<FhirResponse> => {
    const sreq = parse(req, distinctParams(search.params), search.types, search.compartment);
    sreq.include = [...sreq.include, ...(search.include ?? [])];
    const env = envFor(ctx);
    const extra = search.conditions;
    if (extra) env.matchCondition = (type) => extra[type];
    return respond(distinctParams(search.linkParams), ctx, sreq, search.path, env);
  };

  return {
    type: typeSearch,
    system: systemSearch,
    compartment: compartmentSearch,
    prepared,
    searchable,
    parametersOf: (type) =>
      registry
        .all(type)
        .filter((p) => p.expression && p.type !== 'special')
        .map((p) => ({ name: p.code, type: p.type, definition: p.url })),
    async findMatches(type, params, ctx, limit) {
      const sreq = parseSearchRequest(params, {
        types: [type],
        registry,
        defaultCount: limit,
        maxCount: limit,
        strict: true, // a condition that silently ignored a parameter would match the wrong resources
        limits: deps.config.searchLimits,
      });
      sreq.count = limit;
      sreq.include = [];
      sreq.revinclude = [];
      const result = await run({ ...sreq, total: 'none' }, envFor(ctx));
      return result.matches.map((m) => toStoredResource(m.doc));
    },
    async compileConditions(type, params, ctx) {
      const sreq = parseSearchRequest(params, {
        types: [type],
        registry,
        defaultCount: 1,
        maxCount: 1,
        strict: true,
        limits: deps.config.searchLimits,
      });
      if (ctx) {
        // The caller's access rules stay in the chains; the type's own are the search's to add.
        const env = envFor(ctx);
        const access = env.restrict;
        return compileFilter(type, sreq, { ...env, restrict: (t) => (t === type ? undefined : access(t)) });
      }
      return compileFilter(type, sreq, { ...envFor({ requestId: 'access', principal: { kind: 'server' } }), restrict: () => undefined });
    },
  };
}

/** The shape server.ts composes: the conditional matcher plus the interactions for FhirServices.search. */
export function createSearch(o: {
  config: ServerConfig;
  repo: { db: SearchEnvironment['db']; visibility?: SearchDependencies['visibility'] };
  restrict?: SearchDependencies['restrict'];
  assertSearchable?: SearchDependencies['assertSearchable'];
  keyHints?: SearchDependencies['keyHints'];
}) {
  const interactions = createSearchInteractions({
    db: o.repo.db,
    config: o.config,
    restrict: o.restrict,
    assertSearchable: o.assertSearchable,
    keyHints: o.keyHints,
    visibility: o.repo.visibility,
  });
  return { findMatches: interactions.findMatches, interactions };
}
