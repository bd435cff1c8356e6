// What a per-type value compiler knows about the value it turns into a MongoDB condition.
import type { Document } from 'mongodb';
import type { SearchParam } from '../registry.ts';

export interface ValueContext {
  /** Parameter name as written (for errors). */
  name: string;
  param: SearchParam;
  /** Document path of the parameter's index, e.g. "sp.code". */
  field: string;
  modifier?: string;
  baseUrl: string;
}

export type ValueCompiler = (raw: string, ctx: ValueContext) => Document;

/** A condition no document satisfies (an empty $in is accepted by MongoDB and FerretDB). */
export const MATCH_NOTHING: Document = { _id: { $in: [] } };
