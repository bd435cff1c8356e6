// Turns ajv errors into OperationOutcome issues a client can act on: one issue per problem, with
// a FHIRPath-like location (`Patient.name[0].given[1]`) in `expression`.
// See: https://hl7.org/fhir/R4/operationoutcome.html#loc (expression is FHIRPath, R4 simple form)
import type { ErrorObject } from 'ajv';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { issue } from '../outcome.ts';
import { primitiveNameOfPattern } from './fhir-schema.ts';

/** JSON pointer segments of an ajv instancePath ("/name/0/given" → ["name", "0", "given"]). */
function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** "Patient" + ["name","0","given","1"] → "Patient.name[0].given[1]". */
export function fhirPathOf(root: string, segments: readonly (string | number)[]): string {
  let out = root;
  for (const s of segments) {
    if (typeof s === 'number' || /^\d+$/.test(s)) out += `[${s}]`;
    else out += `.${s}`;
  }
  return out;
}

function valueAt(data: unknown, segments: string[]): unknown {
  let cur = data;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Errors that only explain another error on the same value (ajv reports every anyOf branch). */
function isNoise(e: ErrorObject): boolean {
  return e.keyword === 'anyOf' || /\/anyOf\/0\/type$/.test(e.schemaPath);
}

// At most one "bad value" issue per location: the most basic one.
const VALUE_KEYWORDS = ['type', 'minLength', 'pattern', 'fhirCalendarDate', 'minimum', 'maximum', 'enum', 'const'];

/** Maps the errors of one resource validation to issues (severity error). */
export function schemaIssues(resource: unknown, root: string, errors: readonly ErrorObject[]): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  const valueReported = new Set<string>();
  for (const e of errors) {
    if (isNoise(e)) continue;
    const segments = pointerSegments(e.instancePath);
    const at = fhirPathOf(root, segments);
    const value = valueAt(resource, segments);
    const name = segments.filter((s) => !/^\d+$/.test(s)).pop() ?? root;

    if (VALUE_KEYWORDS.includes(e.keyword)) {
      if (valueReported.has(at)) continue;
      valueReported.add(at);
    }

    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = String((e.params as { additionalProperty: string }).additionalProperty);
        out.push(issue('error', 'structure', `Unknown element '${prop}' at ${at}`, [fhirPathOf(at, [prop])]));
        break;
      }
      case 'required': {
        const prop = String((e.params as { missingProperty: string }).missingProperty);
        const msg =
          prop === 'resourceType'
            ? `Missing resourceType at ${at}`
            : `Missing required element '${prop}' (minimum cardinality 1) at ${at}`;
        out.push(issue('error', 'required', msg, [fhirPathOf(at, [prop])]));
        break;
      }
      case 'type': {
        const expected = String((e.params as { type: string }).type);
        out.push(
          issue('error', 'structure', `Wrong type for '${name}': expected ${expected === 'object' ? 'an object' : expected}, got ${jsonKind(value)}`, [at]),
        );
        break;
      }
      case 'minLength':
        out.push(issue('error', 'value', `Empty string not allowed for '${name}'`, [at]));
        break;
      case 'pattern': {
        const primitive = primitiveNameOfPattern(String((e.params as { pattern: string }).pattern));
        const what = primitive ? `${primitive} value` : 'value';
        out.push(issue('error', 'value', `Invalid ${what} ${show(value)} for '${name}'`, [at]));
        break;
      }
      case 'fhirCalendarDate':
        out.push(issue('error', 'value', `Invalid date ${show(value)} for '${name}': no such calendar day`, [at]));
        break;
      case 'minimum':
      case 'maximum':
        out.push(issue('error', 'value', `Value ${show(value)} of '${name}' is out of range (${e.message ?? ''})`, [at]));
        break;
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
        out.push(issue('error', 'code-invalid', `Invalid code ${show(value)} for '${name}': must be one of ${allowed.join(', ')}`, [at]));
        break;
      }
      case 'const': {
        const allowed = (e.params as { allowedValue: unknown }).allowedValue;
        out.push(issue('error', 'value', `'${name}' must be ${show(allowed)}, got ${show(value)}`, [at]));
        break;
      }
      case 'minItems':
        out.push(issue('error', 'structure', `Empty array not allowed for '${name}' (omit the element instead)`, [at]));
        break;
      case 'minProperties':
        out.push(issue('error', 'structure', `Empty object not allowed for '${name}': an element needs a value or children`, [at]));
        break;
      case 'fhirResource':
        out.push(issue('error', 'structure', `${at}: ${e.message ?? 'invalid resource'}`, [at]));
        break;
      default:
        out.push(issue('error', 'structure', `${at}: ${e.message ?? e.keyword}`, [at]));
    }
  }
  return out;
}
