// _include and _revinclude (with :iterate): resources referenced by, or referencing, the page.
// See: https://hl7.org/fhir/R4/search.html#include
//
// The references of a source are read from its stored index values (`sp.<code>.r`, written by the
// indexer from the same FHIRPath expressions), projected with the source, rather than evaluating
// the expressions again: FHIRPath over every reference parameter of a 1,000-resource page took
// seconds of the event loop. The revinclude side already matched on the same stored values.
import type { Db, Document } from 'mongodb';
import { badRequest } from '../../outcome.ts';
import { TimeSlices } from '../../time-slices.ts';
import type { CurrentDocument } from '../../repo/stored-document.ts';
import { and } from '../compile/compile-criteria.ts';
import { anyOf } from '../compile/value-list.ts';
import { partitionCondition } from '../compile/partition.ts';
import { describeLimit, type SearchLimits } from '../query/search-limits.ts';
import type { IncludeSpec } from '../query/search-request.ts';
import { splitLocalReference } from '../reference-string.ts';
import type { SearchParam, SearchParamRegistry } from '../registry.ts';
import type { SearchBudget } from './search-budget.ts';
import { findByIds, findResources } from './search-database.ts';

export interface IncludeEnvironment {
  db: Db;
  registry: SearchParamRegistry;
  restrict(type: string): Document | undefined;
  limits: SearchLimits;
}

export interface TypedDoc {
  type: string;
  doc: CurrentDocument;
}

export interface IncludeResult {
  includes: TypedDoc[];
  /** Why the includes may be incomplete (a limit was reached), for the searchset's outcome. */
  warnings: string[];
}

const keyOf = (type: string, id: string) => `${type}/${id}`;

function referenceParams(registry: SearchParamRegistry, type: string, code: string, name: string): SearchParam[] {
  if (code === '*') return registry.all(type).filter((p) => p.type === 'reference' && p.expression);
  const p = registry.get(type, code);
  if (!p || p.type !== 'reference') throw badRequest(`${name}: ${code} is not a reference parameter of ${type}`, [name]);
  return [p];
}

/** The _include specs that read references of a `type` source. */
const includesFrom = (type: string, include: IncludeSpec[]) => include.filter((s) => s.sourceType === '*' || s.sourceType === type);

/**
 * The projection of a `type` source: the resource, its patients, and the stored references the given _include
 * specs read from it. Pass the specs of the round the source takes part in (all of them on the
 * page, only :iterate ones afterwards).
 */
export function sourceProjection(registry: SearchParamRegistry, type: string, include: IncludeSpec[]): Document {
  // The partition key too: the audit trail records whose records a page held (audit/).
  const projection: Document = { resource: 1, vid: 1, ts: 1, patient: 1, patients: 1 };
  for (const spec of includesFrom(type, include)) {
    for (const p of referenceParams(registry, type, spec.param, '_include')) projection[`sp.${p.code}.r`] = 1;
  }
  return projection;
}

function storedReferences(doc: CurrentDocument, code: string): string[] {
  const index = (doc.sp as Record<string, { r?: unknown } | undefined> | undefined)?.[code];
  return Array.isArray(index?.r) ? (index.r as string[]) : [];
}

/** Ids per type that the _include specs reach from the sources (not yet seen), in slices of the event loop. */
async function referencedIds(
  sources: TypedDoc[],
  include: IncludeSpec[],
  registry: SearchParamRegistry,
  seen: Set<string>,
): Promise<Map<string, Set<string>>> {
  const wanted = new Map<string, Set<string>>();
  const slices = new TimeSlices();
  const specsByType = new Map<string, Array<{ spec: IncludeSpec; codes: string[] }>>();
  for (const src of sources) {
    let specs = specsByType.get(src.type);
    if (!specs) {
      specs = includesFrom(src.type, include).map((spec) => ({
        spec,
        codes: referenceParams(registry, src.type, spec.param, '_include').map((p) => p.code),
      }));
      specsByType.set(src.type, specs);
    }
    await slices.pause();
    for (const { spec, codes } of specs) {
      for (const code of codes) {
        for (const ref of storedReferences(src.doc, code)) {
          const local = splitLocalReference(ref);
          if (!local || (spec.targetType && local[0] !== spec.targetType) || seen.has(ref)) continue;
          if (!wanted.has(local[0])) wanted.set(local[0], new Set());
          wanted.get(local[0])?.add(local[1]);
        }
      }
    }
  }
  return wanted;
}

export async function resolveIncludes(
  matches: TypedDoc[],
  include: IncludeSpec[],
  revinclude: IncludeSpec[],
  env: IncludeEnvironment,
  budget: SearchBudget,
): Promise<IncludeResult> {
  const { limits } = env;
  const seen = new Set(matches.map((m) => keyOf(m.type, m.doc._id)));
  const out: TypedDoc[] = [];
  const warnings: string[] = [];
  const iterating = include.filter((s) => s.iterate);
  let found: TypedDoc[] = [];
  let full = false;
  /** Room left on the page for included resources (maxIncludedResources in all). */
  const room = () => limits.maxIncludedResources - out.length - found.length;
  const add = (type: string, docs: CurrentDocument[]) => {
    for (const doc of docs) {
      const k = keyOf(type, doc._id);
      if (seen.has(k)) continue;
      if (room() <= 0) {
        full = true;
        return;
      }
      seen.add(k);
      found.push({ type, doc });
    }
  };
  let sources = matches;
  for (let round = 0; sources.length > 0 && !full; round++) {
    const inc = include.filter((s) => round === 0 || s.iterate);
    const rev = revinclude.filter((s) => round === 0 || s.iterate);
    if (inc.length === 0 && rev.length === 0) break;
    if (round > limits.maxIterateRounds) {
      warnings.push(`_include/_revinclude :iterate stopped: this server allows ${describeLimit(limits, 'maxIterateRounds')}; more resources may be reachable`);
      break;
    }
    found = [];

    // _include: the stored references of the sources, fetched per type.
    const wanted = await referencedIds(sources, inc, env.registry, seen);
    for (const [type, idSet] of wanted) {
      if (full) break;
      // One more than there is room for, so that a full page knows it left some out.
      const ids = [...idSet].slice(0, room() + 1);
      add(type, await findByIds(env.db, type, ids, env.restrict(type), sourceProjection(env.registry, type, iterating), budget));
    }

    // _revinclude: resources of sourceType whose parameter references one of the sources.
    for (const spec of rev) {
      if (full) break;
      if (spec.sourceType === '*') throw badRequest('_revinclude needs a source type (Type:parameter)', ['_revinclude']);
      const targets = sources.filter((s) => !spec.targetType || s.type === spec.targetType).map((s) => keyOf(s.type, s.doc._id));
      if (targets.length === 0) continue;
      const params = referenceParams(env.registry, spec.sourceType, spec.param, '_revinclude');
      const patientIds = targets.filter((t) => t.startsWith('Patient/')).map((t) => t.slice(8));
      const conds = params.map((p) => {
        const hint = patientIds.length === targets.length ? partitionCondition(spec.sourceType, p, patientIds, env.registry) : undefined;
        return and([hint, anyOf(`sp.${p.code}.r`, targets)]);
      });
      const filter = and([conds.length === 1 ? conds[0] : { $or: conds }, env.restrict(spec.sourceType)]);
      const projection = sourceProjection(env.registry, spec.sourceType, iterating);
      add(spec.sourceType, await findResources(env.db, spec.sourceType, { filter, projection, limit: room() + 1 }, budget));
    }
    out.push(...found);
    sources = found;
    found = [];
  }
  if (full) {
    warnings.push(`Included resources stop at ${out.length}: this server allows ${describeLimit(limits, 'maxIncludedResources')}; more may match`);
  }
  return { includes: out, warnings };
}
