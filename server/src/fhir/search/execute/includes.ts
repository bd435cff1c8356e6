// _include and _revinclude (with :iterate): resources referenced by, or referencing, the page.
// See: https://hl7.org/fhir/R4/search.html#include
import type { Db, Document } from 'mongodb';
import type { Resource } from 'fhir/r4';
import { findBounded } from '../../../db/bounded-find.ts';
import { badRequest } from '../../outcome.ts';
import type { CurrentDocument } from '../../repo/stored-document.ts';
import { and } from '../compile/compile-criteria.ts';
import { partitionCondition } from '../compile/partition.ts';
import { indexValues } from '../index-values/param-index.ts';
import type { ReferenceIndex } from '../index-values/shapes.ts';
import type { IncludeSpec } from '../query/search-request.ts';
import { splitLocalReference } from '../reference-string.ts';
import type { SearchParam, SearchParamRegistry } from '../registry.ts';
import { findByIds } from './search-database.ts';

/** Most resources one _revinclude adds to a page. */
export const MAX_REVINCLUDE = 1000;
const MAX_ITERATIONS = 4;

export interface IncludeEnvironment {
  db: Db;
  registry: SearchParamRegistry;
  baseUrl: string;
  restrict(type: string): Document | undefined;
}

export interface TypedDoc {
  type: string;
  doc: CurrentDocument;
}

const keyOf = (type: string, id: string) => `${type}/${id}`;

function referenceParams(registry: SearchParamRegistry, type: string, code: string, name: string): SearchParam[] {
  if (code === '*') return registry.all(type).filter((p) => p.type === 'reference' && p.expression);
  const p = registry.get(type, code);
  if (!p || p.type !== 'reference') throw badRequest(`${name}: ${code} is not a reference parameter of ${type}`, [name]);
  return [p];
}

function referencesOf(resource: Resource, param: SearchParam, baseUrl: string): string[] {
  const idx = indexValues(param, param.evaluate(resource), { baseUrl }) as ReferenceIndex | undefined;
  return idx?.r ?? [];
}

export async function resolveIncludes(
  matches: TypedDoc[],
  include: IncludeSpec[],
  revinclude: IncludeSpec[],
  env: IncludeEnvironment,
): Promise<TypedDoc[]> {
  const seen = new Set(matches.map((m) => keyOf(m.type, m.doc._id)));
  const out: TypedDoc[] = [];
  let sources = matches;
  for (let round = 0; round < MAX_ITERATIONS && sources.length > 0; round++) {
    const found: TypedDoc[] = [];
    const inc = include.filter((s) => round === 0 || s.iterate);
    const rev = revinclude.filter((s) => round === 0 || s.iterate);
    if (inc.length === 0 && rev.length === 0) break;

    // _include: collect references of the sources, fetch them per type.
    const wanted = new Map<string, Set<string>>();
    for (const spec of inc) {
      for (const src of sources) {
        if (spec.sourceType !== '*' && spec.sourceType !== src.type) continue;
        for (const p of referenceParams(env.registry, src.type, spec.param, '_include')) {
          for (const ref of referencesOf(src.doc.resource, p, env.baseUrl)) {
            const local = splitLocalReference(ref);
            if (!local || (spec.targetType && local[0] !== spec.targetType) || seen.has(ref)) continue;
            if (!wanted.has(local[0])) wanted.set(local[0], new Set());
            wanted.get(local[0])?.add(local[1]);
          }
        }
      }
    }
    for (const [type, ids] of wanted) {
      for (const doc of await findByIds(env.db, type, [...ids], env.restrict(type))) {
        const k = keyOf(type, doc._id);
        if (!seen.has(k)) {
          seen.add(k);
          found.push({ type, doc });
        }
      }
    }

    // _revinclude: resources of sourceType whose parameter references one of the sources.
    for (const spec of rev) {
      if (spec.sourceType === '*') throw badRequest('_revinclude needs a source type (Type:parameter)', ['_revinclude']);
      const targets = sources.filter((s) => !spec.targetType || s.type === spec.targetType).map((s) => keyOf(s.type, s.doc._id));
      if (targets.length === 0) continue;
      const params = referenceParams(env.registry, spec.sourceType, spec.param, '_revinclude');
      const patientIds = targets.filter((t) => t.startsWith('Patient/')).map((t) => t.slice(8));
      const conds = params.map((p) => {
        const hint = patientIds.length === targets.length ? partitionCondition(spec.sourceType, p, patientIds, env.registry) : undefined;
        return and([hint, { [`sp.${p.code}.r`]: { $in: targets } }]);
      });
      const filter = and([conds.length === 1 ? conds[0] : { $or: conds }, env.restrict(spec.sourceType)]);
      const docs = await findBounded<CurrentDocument>(env.db, spec.sourceType, {
        filter,
        projection: { resource: 1, vid: 1, ts: 1 },
        limit: MAX_REVINCLUDE,
      });
      for (const doc of docs) {
        const k = keyOf(spec.sourceType, doc._id);
        if (!seen.has(k)) {
          seen.add(k);
          found.push({ type: spec.sourceType, doc });
        }
      }
    }
    out.push(...found);
    sources = found;
  }
  return out;
}
