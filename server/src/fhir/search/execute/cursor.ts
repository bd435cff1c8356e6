// Keyset paging: a page link carries the sort values, type and id of the entry it continues
// from, so pages stay right while resources are added or removed (no skip/offset).
// See: https://hl7.org/fhir/R4/http.html#paging
import type { Document } from 'mongodb';
import { badRequest } from '../../outcome.ts';
import type { SortField, SortValue } from './sort-keys.ts';

export interface Cursor {
  /** 'n': entries after the position; 'p': entries before it (a previous link). */
  dir: 'n' | 'p';
  values: SortValue[];
  type: string;
  id: string;
}

type Encoded = string | number | null | { d: number };

export function encodeCursor(c: Cursor): string {
  const values: Encoded[] = c.values.map((v) => (v instanceof Date ? { d: v.getTime() } : v));
  return Buffer.from(JSON.stringify([c.dir, values, c.type, c.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor; anything that is not exactly our shape is a 400 (values never become operators). */
export function decodeCursor(token: string, keyCount: number): Cursor {
  const bad = () => badRequest('_cursor is not a valid page position (use the links of a searchset)', ['_cursor']);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw bad();
  const [dir, values, type, id] = parsed as unknown[];
  if ((dir !== 'n' && dir !== 'p') || typeof type !== 'string' || typeof id !== 'string') throw bad();
  if (!Array.isArray(values) || values.length !== keyCount) throw bad();
  const decoded = values.map((v: unknown): SortValue => {
    if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v as SortValue;
    if (v && typeof v === 'object' && Object.keys(v).length === 1 && typeof (v as { d?: unknown }).d === 'number') {
      return new Date((v as { d: number }).d);
    }
    throw bad();
  });
  return { dir, values: decoded, type, id };
}

/**
 * The condition "comes after the cursor" in the order of `fields` (then type, then _id), for one
 * collection of type `type`. For a 'p' cursor the caller passes flipped fields and `before`.
 */
export function keysetCondition(fields: SortField[], cursor: Cursor, type: string, before: boolean): Document | undefined {
  const branches: Document[] = [];
  const equal: Document[] = [];
  fields.forEach((f, i) => {
    const v = cursor.values[i];
    const desc = f.descending !== before; // moving backwards flips every direction
    let after: Document | undefined;
    if (!desc) after = v === null ? { [f.field]: { $ne: null } } : { [f.field]: { $gt: v } };
    else if (v !== null) after = { $or: [{ [f.field]: { $lt: v } }, { [f.field]: null }] };
    if (after) branches.push(equal.length ? { $and: [...equal, after] } : after);
    equal.push({ [f.field]: v });
  });
  // Ties on every sort value: continue by type, then id (ascending forwards).
  const typeCmp = type < cursor.type ? -1 : type > cursor.type ? 1 : 0;
  const typeAfter = before ? typeCmp < 0 : typeCmp > 0;
  let tie: Document | undefined;
  if (typeAfter) tie = {};
  else if (typeCmp === 0) tie = { _id: before ? { $lt: cursor.id } : { $gt: cursor.id } };
  if (tie) {
    const parts = [...equal, ...(Object.keys(tie).length ? [tie] : [])];
    branches.push(parts.length === 0 ? {} : parts.length === 1 ? parts[0] : { $and: parts });
  }
  if (branches.length === 0) return { _id: { $in: [] } };
  if (branches.some((b) => Object.keys(b).length === 0)) return undefined; // everything qualifies
  return branches.length === 1 ? branches[0] : { $or: branches };
}
