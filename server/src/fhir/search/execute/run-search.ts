// Executes a SearchRequest: compile per type, AND the access restriction in before paging,
// keyset-page each collection, merge (system search), add includes and the total. Every query
// runs within the search's time budget (search-budget.ts).
import type { Db, Document } from 'mongodb';
import { findByIdChunks } from '../../../db/id-chunks.ts';
import { and, compileCriteria, type CompileEnvironment } from '../compile/compile-criteria.ts';
import { compartmentCondition } from '../compile/partition.ts';
import type { SearchLimits } from '../query/search-limits.ts';
import type { SearchRequest } from '../query/search-request.ts';
import type { SearchParamRegistry } from '../registry.ts';
import { decodeCursor, encodeCursor, keysetCondition, type Cursor } from './cursor.ts';
import { resolveIncludes, sourceProjection, type TypedDoc } from './includes.ts';
import type { KeyHints } from '../key-hints.ts';
import { SearchBudget } from './search-budget.ts';
import { findResources } from './search-database.ts';
import { compareValues, fieldValue, sortFields, type SortField } from './sort-keys.ts';

export interface SearchEnvironment {
  db: Db;
  registry: SearchParamRegistry;
  /** FHIR base URL (references below it are local). */
  baseUrl: string;
  /** Access rules for one type, ANDed into every query (matches, includes, chains). */
  restrict(type: string): Document | undefined;
  /** A condition the matches of a type must meet beyond the criteria (not includes or chains): bulk export's. */
  matchCondition?(type: string): Document | undefined;
  /** Search lookup keys, on databases that need them (see key-hints.ts). */
  keyHints?: KeyHints;
  limits: SearchLimits;
}

export interface SearchResult {
  matches: TypedDoc[];
  includes: TypedDoc[];
  total?: number;
  /** Cursor tokens for the next and previous pages, when there are such pages. */
  next?: string;
  previous?: string;
  /** Why the page may be incomplete (an include limit was reached), for the searchset's outcome. */
  warnings: string[];
}

/** The compiled filter of one type: criteria, compartment and access, ready for paging. */
export async function compileFilter(
  type: string,
  req: SearchRequest,
  env: SearchEnvironment,
  budget = new SearchBudget(env.limits),
): Promise<Document> {
  const hints = env.keyHints;
  const cenv: CompileEnvironment = {
    registry: env.registry,
    limits: env.limits,
    baseUrl: env.baseUrl,
    restrict: env.restrict,
    find: (t, filter, projection, limit) => budget.run((maxTimeMS) => findByIdChunks(env.db, t, { filter, projection, limit, maxTimeMS })),
    keyCandidates: hints && ((ranges, max) => budget.run((maxTimeMS) => hints.candidates(ranges, max, maxTimeMS))),
  };
  const conds = await compileCriteria(type, req.criteria, cenv);
  const compartment = req.compartment ? compartmentCondition(type, req.compartment.id) : undefined;
  return and([compartment, ...conds, env.restrict(type), env.matchCondition?.(type)]);
}

/** The page's projection: the resource, its sort values, and the references its _include specs read. */
function projectionFor(type: string, fields: SortField[], req: SearchRequest, registry: SearchParamRegistry): Document {
  const p = sourceProjection(registry, type, req.include);
  for (const f of fields) if (f.field !== '_id' && f.field !== 'ts') p[f.field] = 1;
  return p;
}

function comparator(fields: SortField[]) {
  return (a: TypedDoc, b: TypedDoc): number => {
    for (const f of fields) {
      const c = compareValues(fieldValue(a.doc, f.field), fieldValue(b.doc, f.field));
      if (c !== 0) return f.descending ? -c : c;
    }
    if (a.type !== b.type) return a.type < b.type ? -1 : 1;
    return a.doc._id < b.doc._id ? -1 : a.doc._id > b.doc._id ? 1 : 0;
  };
}

function cursorAt(fields: SortField[], item: TypedDoc, dir: 'n' | 'p'): string {
  return encodeCursor({ dir, values: fields.map((f) => fieldValue(item.doc, f.field)), type: item.type, id: item.doc._id });
}

export async function runSearch(req: SearchRequest, env: SearchEnvironment): Promise<SearchResult> {
  const fields = sortFields(req.types, req.sort, env.registry);
  const cursor: Cursor | undefined = req.cursor ? decodeCursor(req.cursor, fields.length) : undefined;
  const backwards = cursor?.dir === 'p';
  const budget = new SearchBudget(env.limits);
  const filters = new Map<string, Document>();
  for (const type of req.types) filters.set(type, await compileFilter(type, req, env, budget));

  const result: SearchResult = { matches: [], includes: [], warnings: [] };
  const countOnly = req.summary === 'count';
  if (req.total === 'accurate' || req.total === 'estimate' || countOnly) {
    let total = 0;
    for (const [type, filter] of filters) {
      const collection = env.db.collection(type);
      total += await budget.run((maxTimeMS) =>
        Object.keys(filter).length === 0 && req.total === 'estimate'
          ? collection.estimatedDocumentCount({ maxTimeMS })
          : collection.countDocuments(filter, { maxTimeMS }),
      );
    }
    result.total = total;
  }
  if (countOnly || req.count === 0) return result;

  // Fetch one more than a page from every collection in the (possibly reversed) order, then merge.
  const sort: Document = {};
  for (const f of fields) sort[f.field] = f.descending !== backwards ? -1 : 1;
  if (!('_id' in sort)) sort._id = backwards ? -1 : 1;
  const fetched: TypedDoc[] = [];
  // Without _sort the order is by type, then id: all of one type comes before the next, so the
  // types are read in that order and reading stops once the page is full. A search over many
  // types (Patient/$everything, system search) then reads one page, not a page of every type.
  const unsorted = fields.length === 0;
  const types = unsorted ? [...filters.keys()].sort() : [...filters.keys()];
  if (unsorted && backwards) types.reverse();
  for (const type of types) {
    const wanted = unsorted ? req.count + 1 - fetched.length : req.count + 1;
    if (wanted <= 0) break;
    // Types the cursor has already passed have nothing left for this page.
    if (unsorted && cursor && (backwards ? type > cursor.type : type < cursor.type)) continue;
    const keyset = cursor ? keysetCondition(fields, cursor, type, backwards) : undefined;
    const docs = await findResources(
      env.db,
      type,
      { filter: and([filters.get(type)!, keyset]), sort, projection: projectionFor(type, fields, req, env.registry), limit: wanted },
      budget,
    );
    for (const doc of docs) fetched.push({ type, doc });
  }
  const cmp = comparator(fields);
  fetched.sort(backwards ? (a, b) => cmp(b, a) : cmp);
  const more = fetched.length > req.count;
  const page = fetched.slice(0, req.count);
  if (backwards) page.reverse();
  result.matches = page;

  const first = page[0];
  const last = page[page.length - 1];
  if (backwards) {
    if (more && first) result.previous = cursorAt(fields, first, 'p');
    result.next = last ? cursorAt(fields, last, 'n') : req.cursor && encodeCursor({ ...(cursor as Cursor), dir: 'n' });
  } else {
    if (more && last) result.next = cursorAt(fields, last, 'n');
    if (cursor) result.previous = first ? cursorAt(fields, first, 'p') : encodeCursor({ ...cursor, dir: 'p' });
  }
  // A first page that holds everything knows its total for free.
  if (result.total === undefined && !cursor && !more && req.total !== 'none') result.total = page.length;

  if (req.include.length > 0 || req.revinclude.length > 0) {
    const included = await resolveIncludes(page, req.include, req.revinclude, env, budget);
    result.includes = included.includes;
    result.warnings.push(...included.warnings);
  }
  return result;
}
