// The query model: what a search asks for, independent of URL syntax and of MongoDB.
// See: https://hl7.org/fhir/R4/search.html

/**
 * A parameter name as written, e.g. "subject:Patient.name:exact" or "_has:Observation:patient:code".
 * Chains are nested through `chain`; reverse chains through `has`.
 */
export interface ParamKey {
  code: string;
  modifier?: string;
  /** The rest of a chain: `subject.name` → { code: 'subject', chain: { code: 'name' } }. */
  chain?: ParamKey;
  /** `_has:Type:param:<inner>`. */
  has?: { type: string; param: string; inner: ParamKey };
}

export interface Criterion {
  /** The name as written, for error messages and OperationOutcome expressions. */
  name: string;
  key: ParamKey;
  /** OR-ed values, split at unescaped commas, escapes kept. */
  values: string[];
}

export interface SortKey {
  code: string;
  descending: boolean;
}

export interface IncludeSpec {
  sourceType: string;
  /** "*" for every reference parameter of sourceType. */
  param: string;
  targetType?: string;
  iterate: boolean;
}

export type TotalMode = 'none' | 'estimate' | 'accurate';
export type SummaryMode = 'true' | 'false' | 'count' | 'data' | 'text';

export interface SearchRequest {
  /** Types searched: one for type and compartment search, the _type list (or all) for system search. */
  types: string[];
  criteria: Criterion[];
  /** Compartment search: Patient/{id}/{type}. */
  compartment?: { type: 'Patient'; id: string };
  sort: SortKey[];
  count: number;
  cursor?: string;
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  total?: TotalMode;
  summary?: SummaryMode;
  elements?: string[];
  /** Parameters that were ignored (unknown or unsupported), reported in the searchset outcome. */
  ignored: Array<{ name: string; reason: string }>;
}
