// Criteria → MongoDB conditions (ANDed). Chained parameters and _has run sub-queries for ids
// (no $lookup: FerretDB 1.x does not have it) and become $in conditions.
// See: https://hl7.org/fhir/R4/search.html#chaining and #has
import type { Document } from 'mongodb';
import { badRequest } from '../../outcome.ts';
import { patientCompartmentParams } from '../compartment.ts';
import { planKey } from '../query/chain-plan.ts';
import { unescapeValue } from '../query/escaping.ts';
import { limitExceeded, type SearchLimits } from '../query/search-limits.ts';
import type { Criterion } from '../query/search-request.ts';
import type { SearchParam, SearchParamRegistry } from '../registry.ts';
import { compileDate, dateCondition } from './date-filter.ts';
import { compileNumber, compileQuantity } from './number-filter.ts';
import { compileReference, referenceValues } from './reference-filter.ts';
import { compileString } from './string-filter.ts';
import { compileToken } from './token-filter.ts';
import { compileUri } from './uri-filter.ts';
import { compositeCompiler } from './composite-filter.ts';
import { partitionCondition } from './partition.ts';
import { oneValueCondition } from './positions.ts';
import { keyNarrowing, type KeyCandidates } from './key-narrowing.ts';
import { dateIndexHint } from './date-index-hint.ts';
import { MATCH_NOTHING, type ValueCompiler, type ValueContext } from './value-context.ts';
import { anyOf, valuesOf } from './value-list.ts';
import { withoutImplied } from './implied-conditions.ts';

export interface CompileEnvironment {
  registry: SearchParamRegistry;
  /** maxChainMatches bounds each chain and _has sub-query. */
  limits: SearchLimits;
  baseUrl: string;
  /** Extra conditions (access rules) on every query of a type, sub-queries included. */
  restrict(type: string): Document | undefined;
  /** Runs a sub-query; returns at most `limit` documents with the projected fields. */
  find(type: string, filter: Document, projection: Document, limit: number): Promise<Document[]>;
  /** Ids of the resources with lookup keys in given ranges (key-hints.ts); undefined where none are kept. */
  keyCandidates?: KeyCandidates;
}

const compilers: Record<string, ValueCompiler> = {
  string: compileString,
  token: compileToken,
  reference: compileReference,
  date: compileDate,
  number: compileNumber,
  quantity: compileQuantity,
  uri: compileUri,
};
const compilerFor = (type: string): ValueCompiler => {
  const c = compilers[type];
  if (!c) throw badRequest(`search parameters of type ${type} are not supported`);
  return c;
};
compilers.composite = compositeCompiler(compilerFor);

/**
 * AND of conditions: one document where no two conditions name the same field (MongoDB ANDs its
 * fields), the rest under $and. The same query as {$and: [...]}, but without an array for the
 * database to convert and walk (FerretDB: ~3 % of a small search's database time). Conditions the
 * others imply are left out (implied-conditions.ts: a patient token's compartment condition).
 */
export function and(conds: Array<Document | undefined>): Document {
  const list: Document[] = [];
  const add = (c: Document | undefined) => {
    if (c === undefined) return;
    const keys = Object.keys(c);
    if (keys.length === 1 && keys[0] === '$and' && Array.isArray(c.$and)) for (const sub of c.$and as Document[]) add(sub);
    else if (keys.length > 0) list.push(c);
  };
  for (const c of conds) add(c);
  if (list.length === 0) return {};
  if (list.length === 1) return list[0];
  const merged: Document = {};
  const rest: Document[] = [];
  for (const c of withoutImplied(list)) {
    if (Object.keys(c).some((k) => Object.hasOwn(merged, k) || k === '$and')) rest.push(c);
    else Object.assign(merged, c);
  }
  if (rest.length > 0) merged.$and = rest;
  return merged;
}

/** OR of alternatives; equalities (and value lists) on one field become one list (index-friendly, see value-list.ts). */
export function or(conds: Document[]): Document {
  if (conds.length === 1) return conds[0];
  const field = Object.keys(conds[0])[0];
  if (field !== undefined && !field.startsWith('$')) {
    const values: string[] = [];
    for (const c of conds) {
      const list = valuesOf(c, field);
      if (!list) return { $or: conds };
      values.push(...list);
    }
    return anyOf(field, values);
  }
  return { $or: conds };
}

/** AND of negated alternatives ({$nor: [a]}, {$nor: [b]}) as one {$nor: [a, b]}. */
function noneOf(conds: Document[]): Document {
  if (!conds.every((c) => Object.keys(c).length === 1 && Array.isArray(c.$nor))) return and(conds);
  return { $nor: conds.flatMap((c) => c.$nor as Document[]) };
}

async function compileOne(type: string, criterion: Criterion, env: CompileEnvironment): Promise<Document[]> {
  const { key, name } = criterion;
  if (key.has) return [await hasCondition(type, criterion, env)];
  if (key.code === '_id') {
    if (key.modifier === 'not') return [{ _id: { $nin: criterion.values.map(unescapeValue) } }];
    if (key.modifier) throw badRequest(`${name}: modifier :${key.modifier} is not supported on _id`, [name]);
    return [or(criterion.values.map((v) => ({ _id: unescapeValue(v) })))];
  }
  if (key.code === '_lastUpdated') {
    if (key.modifier) throw badRequest(`${name}: modifier :${key.modifier} is not supported on _lastUpdated`, [name]);
    return [or(criterion.values.map((v) => dateCondition(v, name, 'ts', 'ts')))];
  }
  const param = env.registry.get(type, key.code);
  if (!param) throw badRequest(`${key.code} is not a search parameter of ${type}`, [name]);
  const field = `sp.${param.code}`;
  if (key.modifier === 'missing') {
    if (criterion.values.length !== 1 || !['true', 'false'].includes(criterion.values[0])) {
      throw badRequest(`${name}: :missing takes true or false`, [name]);
    }
    return [{ [field]: { $exists: criterion.values[0] === 'false' } }];
  }
  if (key.chain) return [await chainCondition(type, param, criterion, env)];
  const ctx: ValueContext = { name, param, field, modifier: key.modifier, baseUrl: env.baseUrl };
  const compile = compilerFor(param.type);
  const conds = criterion.values.map((v) => {
    if (v === '') throw badRequest(`${name}: empty value`, [name]);
    return oneValueCondition(v, ctx, compile) ?? compile(v, ctx);
  });
  // :not with several values is "none of them" (not "not this one or not that one").
  // See: https://hl7.org/fhir/R4/search.html#token
  const out = [key.modifier === 'not' ? noneOf(conds) : or(conds)];
  const hint = partitionHint(type, param, criterion, ctx, env.registry) ?? dateIndexHint(param, criterion, field);
  if (hint) out.unshift(hint);
  return out;
}

/** `patient=X` / `subject=Patient/X` also constrain the partition key (see partition.ts). */
function partitionHint(
  type: string,
  param: SearchParam,
  criterion: Criterion,
  ctx: ValueContext,
  registry: SearchParamRegistry,
): Document | undefined {
  if (param.type !== 'reference') return undefined;
  if (ctx.modifier && ctx.modifier !== 'Patient') return undefined;
  const ids: string[] = [];
  for (const v of criterion.values) {
    const refs = referenceValues(v, ctx);
    if ('anyTypeId' in refs) return undefined;
    const patientRefs = refs.filter((r) => r.startsWith('Patient/'));
    // Every alternative must be a patient, else a non-patient hit would be excluded.
    if (patientRefs.length !== refs.length || patientRefs.length === 0) return undefined;
    ids.push(...patientRefs.map((r) => r.slice('Patient/'.length)));
  }
  return partitionCondition(type, param, ids, registry);
}

async function subQueryIds(type: string, filter: Document, projection: Document, env: CompileEnvironment, name: string) {
  const max = env.limits.maxChainMatches;
  const docs = await env.find(type, and([filter, env.restrict(type)]), projection, max + 1);
  if (docs.length > max) {
    throw limitExceeded(env.limits, 'maxChainMatches', `${name}: the chained criterion matches more than ${max} ${type} resources`, [name], 'Narrow it');
  }
  return docs;
}

async function chainCondition(type: string, param: SearchParam, criterion: Criterion, env: CompileEnvironment): Promise<Document> {
  const { key, name } = criterion;
  if (param.type !== 'reference' || !key.chain) throw badRequest(`${name}: only reference parameters can be chained`, [name]);
  // Planned (and bounded) before any query ran: see chain-plan.ts and parse-search.ts.
  const { targets } = planKey(env.registry, type, key);
  const refs: string[] = [];
  for (const target of targets) {
    const inner: Criterion = { name, key: key.chain, values: criterion.values };
    const filter = and(await compileCriteria(target, [inner], env));
    const docs = await subQueryIds(target, filter, { _id: 1 }, env, name);
    refs.push(...docs.map((d) => `${target}/${String(d._id)}`));
  }
  if (refs.length === 0) return MATCH_NOTHING;
  const condition = anyOf(`sp.${param.code}.r`, refs);
  // A chain through Patient ends in patient ids: lead with the partition key too.
  const patientIds = refs.every((r) => r.startsWith('Patient/')) ? refs.map((r) => r.slice('Patient/'.length)) : [];
  return and([partitionCondition(type, param, patientIds, env.registry), condition]);
}

async function hasCondition(type: string, criterion: Criterion, env: CompileEnvironment): Promise<Document> {
  const has = criterion.key.has;
  if (!has) throw new Error('not a _has criterion');
  const inner: Criterion = { name: criterion.name, key: has.inner, values: criterion.values };
  const filter = and(await compileCriteria(has.type, [inner], env));
  const refField = `sp.${has.param}.r`;
  const docs = await subQueryIds(has.type, and([filter, { [refField]: { $exists: true } }]), { [refField]: 1 }, env, criterion.name);
  const prefix = `${type}/`;
  const ids = new Set<string>();
  for (const d of docs) {
    const refs = ((d.sp as Record<string, { r?: string[] }> | undefined)?.[has.param]?.r ?? []) as string[];
    for (const r of refs) if (r.startsWith(prefix)) ids.add(r.slice(prefix.length));
  }
  return ids.size === 0 ? MATCH_NOTHING : { _id: { $in: [...ids] } };
}

/** All criteria of a search on one type, as conditions to AND (partition conditions first). */
export async function compileCriteria(type: string, criteria: Criterion[], env: CompileEnvironment): Promise<Document[]> {
  const conds: Document[] = [];
  for (const c of criteria) conds.push(...(await compileOne(type, c, env)));
  // Without multikey indexes, lookup keys narrow the search by _id first (key-narrowing.ts).
  const narrowed = env.keyCandidates && (await keyNarrowing(type, criteria, env.registry, env.keyCandidates));
  if (narrowed) conds.unshift(narrowed);
  // Partition-key conditions lead so FerretDB and index selection see them first.
  return [...conds.filter((c) => 'patient' in c), ...conds.filter((c) => !('patient' in c))];
}
