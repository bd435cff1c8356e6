// The lookup keys kept by key-hints.ts: which keys a stored document has, and which ranges of
// keys hold every resource a search criterion can match.
//
// A key is the _id of a document of its own, "<Type>.<param> <value> <id>":
//   "Patient.name rossi 123", "Patient.telecom (503)%20555-0101 123", "Patient.birthdate 1980-05-12 123"
// so that the database's _id index answers "every key starting with X" as one range (FerretDB's
// patched backend pushes string ranges down to SQLite: see db/ferretdb-patches/). The value is
// written with a prefix code (below) in which no character sorts at or above "~" and no value
// holds a space, so that a value and every longer value starting with it lie in
// [prefix, prefix + "~"), and the ranges need no escaping.
//
// Which values are keyed, per parameter type:
//   string (name): the first word of every folded value (sp.name.s), looked up by prefix, as the
//     search matches: a value starting with a search text without a space has a first word
//     starting with it, and one starting with a text with a space ("maria e") has the text's
//     first word as its own. One key per word, not per whole name ("maria elena rossi", which
//     would be one of a kind): the common words can then be merged (key-compaction.ts);
//   token (telecom, identifier): every code (sp.x.c), looked up exactly; "system|code" is looked
//     up by its code (a superset: the exact condition checks the system);
//   date (birthdate): the UTC day its range starts on; an `eq` search for a year, month or day
//     contains only ranges that start inside it, so the day starts with the searched date.
// family/given are answered from the name keys and phone/email from the telecom keys: their
// values are among those (the same HumanName and ContactPoint values, see index-values/), which
// halves the keys a Patient needs. Keys only ever narrow: the exact condition decides.
// See: https://hl7.org/fhir/R4/search.html#string, #token, #date
import type { Criterion } from './query/search-request.ts';
import { splitUnescaped, unescapeValue } from './query/escaping.ts';
import { foldString } from './fold.ts';
import { parseDateRange } from './date-range.ts';
import { splitPrefix } from './compile/prefix.ts';
import type { SearchParam, SearchParamRegistry, SearchParamType } from './registry.ts';
import type { DateIndex, StringIndex, TokenIndex } from './index-values/shapes.ts';

/** Parameters whose values are keyed, with the type they must have. */
const KEYED: Readonly<Record<string, SearchParamType>> = {
  name: 'string',
  telecom: 'token',
  identifier: 'token',
  birthdate: 'date',
};

/**
 * Parameters answered from another one's keys: their expression is that one's plus this tail,
 * and their index values are among that one's.
 */
const SERVED_BY: Readonly<Record<string, { keyed: string; tail: string }>> = {
  family: { keyed: 'name', tail: '.family' },
  given: { keyed: 'name', tail: '.given' },
  phone: { keyed: 'telecom', tail: ".where(system='phone')" },
  email: { keyed: 'telecom', tail: ".where(system='email')" },
};

/** The codes of the keyed parameters (what the start-up build reads from each document's sp). */
export const KEYED_PARAMS: readonly string[] = Object.keys(KEYED);

/** Longest part of a value a key keeps, in characters; longer values share a key with others that begin alike. */
const MAX_KEY_CHARS = 64;

/** An end of every key range: sorts after every character a key value is written with. */
const RANGE_END = '~';

/** Characters written as themselves in keys; every other UTF-8 byte becomes %XX. */
const PLAIN = /^[A-Za-z0-9!#$'()*+,\-./:;=?@[\]^_`{|}]$/;
const PLAIN_BYTES = new Uint8Array(128).map((_, b) => (PLAIN.test(String.fromCharCode(b)) ? 1 : 0));

/**
 * A prefix code of the value's UTF-8 bytes (plain ASCII as itself, anything else as %XX), so one
 * written value starts with another exactly when the value does; at most MAX_KEY_CHARS
 * characters of it, cut between code points.
 */
export function keyValue(value: string): string {
  let chars = 0;
  let end = 0;
  while (end < value.length && chars < MAX_KEY_CHARS) {
    end += (value.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
    chars++;
  }
  let out = '';
  for (const b of Buffer.from(value.slice(0, end), 'utf8')) {
    out += b < 128 && PLAIN_BYTES[b] ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const keyPrefix = (type: string, code: string) => `${type}.${keyValue(code)} `;

/** The resource id of a key. */
export const keyResourceId = (key: string): string => key.slice(key.lastIndexOf(' ') + 1);

/** A folded string up to its first space (folded strings have single spaces, none at either end). */
const firstWord = (folded: string): string => {
  const space = folded.indexOf(' ');
  return space < 0 ? folded : folded.slice(0, space);
};

/** The UTC day a date range starts on, for years 0–9999. */
function dayOf(lo: Date): string | undefined {
  const year = lo.getUTCFullYear(); // NaN for an invalid date
  return year >= 0 && year <= 9999 ? lo.toISOString().slice(0, 10) : undefined;
}

function valuesOf(kind: SearchParamType, index: unknown): string[] {
  if (!index || typeof index !== 'object') return [];
  switch (kind) {
    case 'string':
      return ((index as StringIndex).s ?? []).map(firstWord);
    case 'token':
      return (index as TokenIndex).c ?? [];
    case 'date':
      return ((index as DateIndex).lo ?? []).flatMap((d) => dayOf(d) ?? []);
    default:
      return [];
  }
}

/** The keys of a stored document: its index values (sp) of the keyed parameters. */
export function documentKeys(registry: SearchParamRegistry, type: string, id: string, sp: Record<string, unknown> | undefined): string[] {
  const keys = new Set<string>();
  for (const [code, kind] of Object.entries(KEYED)) {
    if (registry.get(type, code)?.type !== kind) continue;
    const prefix = keyPrefix(type, code);
    for (const v of valuesOf(kind, sp?.[code])) keys.add(`${prefix}${keyValue(v)} ${id}`);
  }
  return [...keys];
}

/** A range of keys: gte <= key < lt. */
export interface KeyRange {
  gte: string;
  lt: string;
}

/** How narrow a lookup's answer tends to be: exact codes first, then dates, then name prefixes. */
export type KeySelectivity = 0 | 1 | 2;

export interface KeyLookup {
  ranges: KeyRange[];
  selectivity: KeySelectivity;
}

/** The keyed parameter whose keys hold every value of `param` (itself, or the one serving it). */
function keyedParam(registry: SearchParamRegistry, type: string, param: SearchParam): SearchParam | undefined {
  if (KEYED[param.code] === param.type) return param;
  const served = SERVED_BY[param.code];
  if (!served || !param.expression) return undefined;
  const keyed = registry.get(type, served.keyed);
  if (!keyed?.expression || keyed.type !== KEYED[served.keyed] || keyed.type !== param.type) return undefined;
  return param.expression === keyed.expression + served.tail ? keyed : undefined;
}

const startingWith = (prefix: string): KeyRange => ({ gte: prefix, lt: prefix + RANGE_END });

/** The code values a token search value can match: the code, or for "system|code" every split of it at a "|". */
function tokenCodes(raw: string): string[] | undefined {
  const parts = splitUnescaped(raw, '|');
  if (parts.length === 1) return [unescapeValue(raw)];
  const code = unescapeValue(parts.slice(1).join('|'));
  if (code === '') return undefined; // "system|": any code of the system, nothing to look up
  // A stored system may itself hold "|": "a|b|c" is system "a|b", code "c" as well.
  const whole = `${unescapeValue(parts[0])}|${code}`;
  const codes: string[] = [];
  for (let i = whole.indexOf('|'); i >= 0; i = whole.indexOf('|', i + 1)) codes.push(whole.slice(i + 1));
  return codes.filter((c) => c !== '');
}

/** The key prefix of a date search value an `eq` match must start with, if it is a plain date. */
function datePrefix(raw: string, name: string): string | undefined {
  const { prefix, rest } = splitPrefix(unescapeValue(raw), name);
  if (prefix !== 'eq' || !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(rest) || !parseDateRange(rest)) return undefined;
  return rest;
}

/**
 * The key ranges holding every resource of `type` the criterion can match, or undefined when
 * keys cannot narrow it (a parameter without keys, a modifier, a chain, "system|", a date
 * with another prefix or with a time).
 */
export function criterionKeyLookup(registry: SearchParamRegistry, type: string, criterion: Criterion): KeyLookup | undefined {
  const { key } = criterion;
  if (key.chain || key.has || criterion.values.length === 0) return undefined;
  const param = registry.get(type, key.code);
  if (!param) return undefined;
  const keyed = keyedParam(registry, type, param);
  if (!keyed) return undefined;
  const prefix = keyPrefix(type, keyed.code);
  const ranges: KeyRange[] = [];
  for (const raw of criterion.values) {
    switch (param.type) {
      case 'string': {
        // :exact values fold to a value that starts with the folded search value too.
        if (key.modifier && key.modifier !== 'exact') return undefined;
        const folded = foldString(unescapeValue(raw));
        if (folded === '') return undefined;
        // A text with a space: the values' first word is the text's; without one, it starts with it.
        ranges.push(startingWith(folded.includes(' ') ? `${prefix}${keyValue(firstWord(folded))} ` : prefix + keyValue(folded)));
        break;
      }
      case 'token': {
        const codes = key.modifier ? undefined : tokenCodes(raw);
        if (!codes || codes.length === 0) return undefined;
        for (const code of codes) ranges.push(startingWith(`${prefix}${keyValue(code)} `));
        break;
      }
      case 'date': {
        const day = key.modifier ? undefined : datePrefix(raw, criterion.name);
        if (!day) return undefined;
        ranges.push(startingWith(prefix + day));
        break;
      }
      default:
        return undefined;
    }
  }
  return { ranges, selectivity: param.type === 'token' ? 0 : param.type === 'date' ? 1 : 2 };
}
