// JSON from clients, read so that what is stored is what was sent, or refused with a 400 that says
// why. JSON.parse alone silently changes values this server then stores and echoes as if accepted:
// numbers beyond a 64-bit double's range or precision (1e400 becomes Infinity, 1e-400 becomes 0,
// 9007199254740993 becomes ...992) and escaped lone surrogates ("\ud800", which no UTF-8 database
// can hold: it came back as U+FFFD). And it accepts nesting deep enough to overflow the stack of the
// recursive code that later walks the value (validation, reference rewriting).
//
// One pass over the text, before JSON.parse, finds all three: it counts nesting, compares each
// number token with the shortest decimal form of the double it becomes, and checks \u escapes.
// It recognises just enough of JSON to find strings, containers and numbers; whether the text is
// JSON at all is left to JSON.parse. Strings, most of a FHIR body, are skipped with indexOf.
// See: https://hl7.org/fhir/R4/json.html (UTF-8; decimals are JSON numbers),
// RFC 8259 §6 (numbers beyond IEEE 754 double precision are not interoperable) and §8.2 (surrogates).
import { isUtf8 } from 'node:buffer';
import { OperationOutcomeError, issue, type IssueCode } from '../outcome.ts';
import { numberSurvivesDouble } from './json-numbers.ts';
import { jsonPathAt } from './json-path-at.ts';

type Problem = { kind: 'depth' | 'number' | 'surrogate'; offset: number; end: number };

const QUOTE = 34;
const BACKSLASH = 92;

/** Value of four hex digits at text[at], or -1. */
function hex4(text: string, at: number): number {
  const s = text.slice(at, at + 4);
  return /^[0-9A-Fa-f]{4}$/.test(s) ? parseInt(s, 16) : -1;
}

/**
 * The first thing in the text that JSON.parse would accept but this server cannot keep faithfully,
 * or undefined. Text that is not JSON may yield anything; JSON.parse judges it afterwards.
 */
export function findUnfaithfulJson(text: string, maxDepth: number): Problem | undefined {
  const n = text.length;
  let depth = 0;
  // Position of the next backslash at or after the current string position (n: none left).
  let nextBackslash = -1;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 44 /* , */ || c === 58 /* : */) {
      i++;
      continue;
    }
    if (c === QUOTE) {
      // A string: jump from escape to escape with indexOf, checking each \u escape.
      let from = i + 1;
      for (;;) {
        const close = text.indexOf('"', from);
        if (close < 0) return undefined; // unterminated; JSON.parse says so
        if (nextBackslash < from) {
          nextBackslash = text.indexOf('\\', from);
          if (nextBackslash < 0) nextBackslash = n;
        }
        if (nextBackslash > close) {
          i = close + 1;
          break;
        }
        const esc = nextBackslash;
        if (text.charCodeAt(esc + 1) !== 117 /* u */) {
          from = esc + 2; // \" \\ \n ...: skip the escaped character
          continue;
        }
        const unit = hex4(text, esc + 2);
        if (unit >= 0xd800 && unit <= 0xdfff) {
          // A high surrogate must be followed at once by an escaped low one; a low one alone is lone.
          const pairedLow =
            unit < 0xdc00 && text.charCodeAt(esc + 6) === BACKSLASH && text.charCodeAt(esc + 7) === 117 ? hex4(text, esc + 8) : -1;
          if (pairedLow < 0xdc00 || pairedLow > 0xdfff) return { kind: 'surrogate', offset: i, end: esc + 6 };
          from = esc + 12;
        } else {
          from = esc + 6;
        }
      }
      continue;
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return { kind: 'depth', offset: i, end: i + 1 };
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let end = i + 1;
      let exponent = false;
      for (; end < n; end++) {
        const d = text.charCodeAt(end);
        if ((d >= 48 && d <= 57) || d === 46 /* . */) continue;
        if (d === 101 || d === 69 || d === 43 || d === 45) exponent = true; // e E + -
        else break;
      }
      // Without an exponent, 15 characters hold at most 15 significant digits of a moderate
      // magnitude, which every double keeps exactly: the common case costs no conversion.
      if ((exponent || end - i > 15) && !numberSurvivesDouble(text.slice(i, end))) return { kind: 'number', offset: i, end };
      i = end;
      continue;
    }
    i++;
  }
  return undefined;
}

export interface JsonSource {
  /** Names the text in messages, e.g. "The body" or "Bundle.entry[2]: the JSON Patch". */
  subject: string;
  /** Where to point issue expressions; default: the path inside the text (FHIRPath style). */
  expression?: string;
}

const BODY: JsonSource = { subject: 'The body' };

function fail(code: IssueCode, message: string, expression?: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [issue('error', code, message, expression ? [expression] : undefined)]);
}

/** The root resource's type, to start issue paths with it like the validator does. */
function rootTypeOf(text: string): string | undefined {
  try {
    const root = JSON.parse(text) as { resourceType?: unknown };
    return typeof root?.resourceType === 'string' && /^[A-Za-z]{1,64}$/.test(root.resourceType) ? root.resourceType : undefined;
  } catch {
    return undefined;
  }
}

function problemError(text: string, problem: Problem, maxDepth: number, source: JsonSource): OperationOutcomeError {
  const inner = jsonPathAt(text, problem.offset);
  const rootType = rootTypeOf(text);
  const where = source.expression ?? (rootType && inner ? `${rootType}.${inner}` : rootType ?? inner);
  const at = where ? ` at ${where}` : '';
  if (problem.kind === 'depth') {
    return fail(
      'too-costly',
      `${source.subject} nests objects and arrays more than ${maxDepth} levels deep${at}; this server accepts at most ${maxDepth}`,
      where,
    );
  }
  if (problem.kind === 'surrogate') {
    return fail(
      'value',
      `${source.subject} has a string${at} with an unpaired UTF-16 surrogate escape (${text.slice(problem.end - 6, problem.end)}), ` +
        'which is not a character and cannot be stored; FHIR strings are Unicode text',
      where,
    );
  }
  const token = text.slice(problem.offset, problem.end);
  const shown = token.length > 40 ? `${token.slice(0, 37)}...` : token;
  const value = Number(token);
  const why = !Number.isFinite(value)
    ? 'it is beyond the largest number this server stores (about 1.8e308)'
    : value === 0
      ? 'it is too close to zero to store (it would become 0)'
      : `it has more significant digits than this server stores exactly (it would become ${value}; 15 digits are always kept)`;
  return fail('value', `${source.subject} has the number ${shown}${at}, which cannot be stored as sent: ${why}`, where);
}

/**
 * JSON.parse, refusing (400) what it would silently change and nesting deeper than maxDepth.
 * See the top of this file.
 */
export function parseFaithfulJson(text: string, maxDepth: number, source: JsonSource = BODY): unknown {
  const problem = findUnfaithfulJson(text, maxDepth);
  if (problem) throw problemError(text, problem, maxDepth, source);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw fail('structure', `${source.subject} is not valid JSON: ${(err as Error).message.slice(0, 200)}`, source.expression);
  }
}

/** UTF-8 bytes to text; invalid UTF-8 (which decoding would turn into U+FFFD) is a 400. */
export function decodeUtf8(bytes: Buffer, source: JsonSource = BODY): string {
  if (!isUtf8(bytes)) {
    throw fail(
      'structure',
      `${source.subject} is not valid UTF-8; FHIR requires UTF-8 (See: https://hl7.org/fhir/R4/http.html#mime-type)`,
      source.expression,
    );
  }
  return bytes.toString('utf8');
}
