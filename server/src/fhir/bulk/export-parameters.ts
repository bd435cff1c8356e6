// The kick-off request of a Bulk Data export, checked: its headers (Accept, Prefer: respond-async)
// and its parameters, from the URL (GET) or a Parameters resource (POST). An unknown or unsupported
// parameter is a 400 unless the client asked for lenient handling (Prefer: handling=lenient), in
// which case it is left out. See: https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters
import type { Parameters } from 'fhir/r4';
import { badRequest, notSupported, OperationOutcomeError, issue } from '../outcome.ts';
import { parseFhirInstant } from '../router/fhir-dates.ts';
import { isResourceType } from '../search/registry.ts';
import { decodeQueryParams } from '../request-url.ts';
import type { FhirRequest } from '../types.ts';
import type { ExportLevel } from './export-job.ts';

export const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

/** Parameters this server answers (patient only at Patient and Group level, by POST). */
const KNOWN = new Set(['_outputFormat', '_since', '_until', '_type', '_elements', '_typeFilter', 'patient', 'includeAssociatedData']);
/** Parameters of every FHIR request that say nothing about the export. */
const IGNORED = new Set(['_format', '_pretty']);

export interface KickOffRequest {
  since?: Date;
  until?: Date;
  /** _type as asked (empty: every type the client may export). */
  types: string[];
  elements?: string[];
  /** _typeFilter: type → queries (name/value pairs), in the order given. */
  typeFilters: Map<string, Array<Array<[string, string]>>>;
  /** patient (POST): Patient ids. */
  patients?: string[];
  lenient: boolean;
}

/** Prefer: handling=lenient — unknown parameters are left out instead of refused. */
export const preferLenient = (prefer: string | undefined) => /(?:^|[;,\s])handling\s*=\s*"?lenient"?/i.test(prefer ?? '');

/** Accept must be FHIR JSON (the kick-off's errors are OperationOutcomes); Prefer must ask for async. */
export function assertKickOffHeaders(req: FhirRequest): void {
  const accept = req.headers.accept;
  const types = (accept ?? '').split(',').map((t) => t.split(';')[0].trim().toLowerCase());
  if (!accept || !types.some((t) => t === 'application/fhir+json' || t === 'application/json')) {
    throw badRequest('$export needs Accept: application/fhir+json');
  }
  if (!/(?:^|[;,\s])respond-async(?:$|[;,\s])/i.test(req.headers.prefer ?? '')) {
    throw badRequest('$export runs asynchronously: send Prefer: respond-async');
  }
}

/** A Parameters body's values as name/value pairs (patient references included). */
function bodyParams(body: unknown): Array<[string, string]> {
  const params = body as Parameters | undefined;
  if (params?.resourceType !== 'Parameters' || (params.parameter !== undefined && !Array.isArray(params.parameter))) {
    throw badRequest('POST $export takes a Parameters resource');
  }
  const pairs: Array<[string, string]> = [];
  for (const p of params.parameter ?? []) {
    if (typeof p.name !== 'string') throw badRequest('Every parameter of the Parameters resource needs a name');
    const value =
      p.valueReference?.reference ?? p.valueString ?? p.valueCode ?? p.valueInstant ?? p.valueDateTime ?? p.valueUri ?? p.valueCanonical ?? (p.valueBoolean !== undefined ? String(p.valueBoolean) : undefined);
    if (typeof value !== 'string') throw badRequest(`Parameter ${p.name.slice(0, 60)} has no value this server reads`, [p.name.slice(0, 60)]);
    pairs.push([p.name, value]);
  }
  return pairs;
}

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

export function parseKickOff(req: FhirRequest, level: ExportLevel): KickOffRequest {
  const lenient = preferLenient(req.headers.prefer);
  const params = req.method === 'POST' && req.body !== undefined ? [...req.params, ...bodyParams(req.body)] : req.params;
  const out: KickOffRequest = { types: [], typeFilters: new Map(), lenient };
  /** Refused, or left out when the client asked for lenient handling. */
  const unsupported = (message: string, name: string) => {
    if (!lenient) throw notSupported(`${message} (send Prefer: handling=lenient to have it ignored)`);
    void name;
  };
  for (const [name, value] of params) {
    if (IGNORED.has(name)) continue;
    if (!KNOWN.has(name)) {
      unsupported(`$export has no parameter ${name.slice(0, 60)}`, name);
      continue;
    }
    switch (name) {
      case '_outputFormat':
        if (!NDJSON_FORMATS.has(value)) throw badRequest(`_outputFormat ${value.slice(0, 60)} is not supported; use application/fhir+ndjson`, ['_outputFormat']);
        break;
      case '_since':
        out.since = parseFhirInstant(value, '_since');
        break;
      case '_until':
        out.until = parseFhirInstant(value, '_until');
        break;
      case '_type':
        for (const t of list(value)) {
          if (isResourceType(t)) out.types.push(t);
          else unsupported(`_type: ${t.slice(0, 60)} is not a resource type`, '_type');
        }
        break;
      case '_elements':
        for (const e of list(value)) {
          if (!/^([A-Z][A-Za-z]+\.)?[a-z][A-Za-z0-9_]*$/.test(e)) throw badRequest(`_elements: "${e.slice(0, 60)}" is not an element name (name or Type.name)`, ['_elements']);
          if (e.includes('.') && !isResourceType(e.split('.')[0])) throw badRequest(`_elements: ${e.split('.')[0].slice(0, 60)} is not a resource type`, ['_elements']);
          (out.elements ??= []).push(e);
        }
        break;
      case '_typeFilter':
        // Queries are separated by commas that start another Type?…; a query's own OR-commas stay.
        for (const filter of value.split(/,(?=[A-Z][A-Za-z]+\?)/)) typeFilter(filter.trim(), out);
        break;
      case 'patient': {
        if (level === 'system' || req.method !== 'POST') throw badRequest('patient is a parameter of Patient- and Group-level exports, sent by POST', ['patient']);
        const id = /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(value)?.[1];
        if (!id) throw badRequest(`patient: ${value.slice(0, 80)} is not a Patient reference`, ['patient']);
        (out.patients ??= []).push(id);
        break;
      }
      case 'includeAssociatedData':
        for (const v of list(value)) unsupported(`includeAssociatedData=${v.slice(0, 60)} is not supported by this server`, name);
        break;
    }
  }
  out.types = [...new Set(out.types)];
  // A _typeFilter for a type _type leaves out would select nothing: the request contradicts itself.
  if (out.types.length > 0) {
    for (const t of out.typeFilters.keys()) {
      if (!out.types.includes(t)) throw badRequest(`_typeFilter names ${t}, which _type leaves out`, ['_typeFilter']);
    }
  }
  if (out.since && out.until && out.until <= out.since) throw badRequest('_until must be after _since', ['_until']);
  return out;
}

/** One _typeFilter value: Type?search-query. */
function typeFilter(filter: string, out: KickOffRequest): void {
  const q = filter.indexOf('?');
  const type = q < 0 ? filter : filter.slice(0, q);
  if (q < 0 || !isResourceType(type)) throw badRequest(`_typeFilter: "${filter.slice(0, 80)}" is not Type?query`, ['_typeFilter']);
  let query: Array<[string, string]>;
  try {
    query = decodeQueryParams(filter.slice(q + 1), '_typeFilter');
  } catch (err) {
    if (err instanceof OperationOutcomeError) throw err;
    throw new OperationOutcomeError(400, [issue('error', 'invalid', '_typeFilter has a query that cannot be read', ['_typeFilter'])]);
  }
  if (query.length === 0) throw badRequest(`_typeFilter: "${filter.slice(0, 80)}" has no query`, ['_typeFilter']);
  const filters = out.typeFilters.get(type) ?? [];
  filters.push(query);
  out.typeFilters.set(type, filters);
}
