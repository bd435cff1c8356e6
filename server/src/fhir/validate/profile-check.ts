// Walks a resource alongside a profile's element tree and reports what the profile forbids:
// cardinality, fixed/pattern values, choice types, required bindings, slices and invariants.
// See: https://hl7.org/fhir/R4/profiling.html and https://hl7.org/fhir/R4/validation.html
import type { Coding, OperationOutcomeIssue } from 'fhir/r4';
import { issue } from '../outcome.ts';
import type { ElementNode, SlicingDiscriminator } from './element-tree.ts';
import { brief, deepEqual, matchesPattern } from './fixed-pattern.ts';
import { evaluateInvariant, isCheckable } from './invariants.ts';
import type { Terminology } from './terminology.ts';

interface Item {
  value: unknown;
  /** Location with indices, for issues: "Observation.component[1].code". */
  location: string;
  /** Type path without indices, concrete choice name, for fhirpath: "Observation.valueQuantity". */
  typePath: string;
  /** JSON key the value sits under ("valueQuantity" for value[x]). */
  key: string;
}

export interface ProfileCheckContext {
  resource: unknown;
  /** Canonical of the profile, quoted in diagnostics. */
  profileUrl: string;
  terminology: Terminology;
  issues: OperationOutcomeIssue[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The values of one child element inside an instance object. */
function itemsOf(parent: Record<string, unknown>, child: ElementNode, location: string, typePath: string): Item[] {
  const out: Item[] = [];
  const push = (key: string, v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (x !== null && x !== undefined) out.push({ value: x, location: `${location}.${key}[${i}]`, typePath: `${typePath}.${key}`, key });
      });
    } else if (v !== undefined && v !== null) {
      out.push({ value: v, location: `${location}.${key}`, typePath: `${typePath}.${key}`, key });
    }
  };
  if (child.name.endsWith('[x]')) {
    const stem = child.name.slice(0, -3);
    for (const key of Object.keys(parent)) {
      if (key.length > stem.length && key.startsWith(stem) && /[A-Z]/.test(key[stem.length])) push(key, parent[key]);
    }
  } else {
    push(child.name, parent[child.name]);
  }
  return out;
}

/** Values reached from `value` by a dotted element path (arrays flattened). */
function valuesAtPath(value: unknown, path: string): unknown[] {
  if (path === '$this') return [value];
  let current: unknown[] = [value];
  for (const seg of path.split('.')) {
    const next: unknown[] = [];
    for (const v of current) {
      if (!isObject(v)) continue;
      const x = v[seg];
      if (Array.isArray(x)) next.push(...x);
      else if (x !== undefined) next.push(x);
    }
    current = next;
  }
  return current;
}

/** The node a discriminator path designates inside a slice ("coding.code" → that child). */
function nodeAtPath(slice: ElementNode, path: string): ElementNode | undefined {
  if (path === '$this') return slice;
  let node: ElementNode | undefined = slice;
  for (const seg of path.split('.')) node = node?.children.get(seg);
  return node;
}

function inValueSet(ctx: ProfileCheckContext, valueSet: string, value: unknown): boolean | undefined {
  const exp = ctx.terminology.expand(valueSet);
  if (!exp) return undefined;
  if (typeof value === 'string') return exp.codes.has(value);
  if (!isObject(value)) return undefined;
  const codingIn = (c: Coding) => c.system !== undefined && c.code !== undefined && exp.pairs.has(`${c.system}|${c.code}`);
  if (Array.isArray(value.coding) || 'text' in value) return ((value.coding as Coding[] | undefined) ?? []).some(codingIn);
  if ('code' in value || 'system' in value) return codingIn(value as Coding);
  return undefined;
}

/** Whether an item belongs to a slice, judged by the slicing's discriminators. */
function matchesSlice(ctx: ProfileCheckContext, item: Item, slice: ElementNode, discriminators: SlicingDiscriminator[]): boolean {
  if (discriminators.length === 0) {
    if (slice.fixed !== undefined) return deepEqual(item.value, slice.fixed);
    if (slice.pattern !== undefined) return matchesPattern(item.value, slice.pattern);
    return false;
  }
  return discriminators.every((d) => {
    if (d.type === 'type') {
      // A type slice of a choice element is named after the JSON key ("valueQuantity").
      return slice.sliceName === item.key || slice.types.some((t) => item.key.endsWith(upperFirst(t)));
    }
    if (d.type === 'exists') return valuesAtPath(item.value, d.path).length > 0;
    if (d.type !== 'value' && d.type !== 'pattern') return false;
    const target = nodeAtPath(slice, d.path);
    const actual = valuesAtPath(item.value, d.path);
    let expected = target?.fixed ?? target?.pattern;
    // Extension slices carry their url in the extension's own profile, not in the slice.
    if (expected === undefined && d.path === 'url' && slice.typeProfiles.length > 0) expected = slice.typeProfiles[0];
    if (expected !== undefined) {
      return actual.some((a) => (target?.fixed !== undefined ? deepEqual(a, expected) : matchesPattern(a, expected)));
    }
    // A $this slice defined only by a required binding: members are the codes of that ValueSet.
    if (target?.binding?.strength === 'required' && target.binding.valueSet) {
      return actual.some((a) => inValueSet(ctx, target.binding!.valueSet!, a) === true);
    }
    return false;
  });
}

function cardinality(ctx: ProfileCheckContext, node: ElementNode, count: number, location: string, label: string): void {
  if (count < node.min) {
    ctx.issues.push(
      issue('error', 'required', `${label}: minimum required = ${node.min}, but only found ${count} (from ${ctx.profileUrl})`, [location]),
    );
  }
  if (count > node.max) {
    ctx.issues.push(
      issue('error', 'structure', `${label}: maximum allowed = ${node.max}, but found ${count} (from ${ctx.profileUrl})`, [location]),
    );
  }
}

/** Checks the element values of one child node (and its slices). */
function checkChild(ctx: ProfileCheckContext, child: ElementNode, items: Item[], parentLocation: string, parentTypePath: string): void {
  const location = `${parentLocation}.${child.name.replace('[x]', '')}`;
  cardinality(ctx, child, items.length, location, location);

  if (child.slices.length > 0) {
    const discriminators = child.slicing?.discriminator ?? [];
    const assigned = new Map<ElementNode, Item[]>(child.slices.map((s) => [s, []]));
    for (const item of items) {
      const slice = child.slices.find((s) => matchesSlice(ctx, item, s, discriminators));
      if (slice) assigned.get(slice)!.push(item);
      else if (child.slicing?.rules === 'closed') {
        ctx.issues.push(issue('error', 'structure', `${item.location} matches none of the slices of ${location} (closed slicing, ${ctx.profileUrl})`, [item.location]));
      }
    }
    for (const [slice, members] of assigned) {
      cardinality(ctx, slice, members.length, location, `${location} slice '${slice.sliceName}'`);
      for (const m of members) checkItem(ctx, slice, m);
    }
  }
  for (const item of items) checkItem(ctx, child, item);
  void parentTypePath;
}

// Types a binding applies to; on a choice element (value[x]) other types are left alone.
const BINDABLE_SUFFIXES = ['Code', 'Coding', 'CodeableConcept', 'Quantity'];

function isBindable(node: ElementNode, key: string): boolean {
  if (!node.name.endsWith('[x]')) return true;
  return BINDABLE_SUFFIXES.includes(key.slice(node.name.length - 3));
}

/** Checks one value against its element node, then its children. */
function checkItem(ctx: ProfileCheckContext, node: ElementNode, item: Item): void {
  const { value, location } = item;

  if (node.name.endsWith('[x]') && node.types.length > 0 && node.types.length < 30) {
    const suffix = item.key.slice(node.name.length - 3);
    if (!node.types.some((t) => upperFirst(t) === suffix)) {
      ctx.issues.push(
        issue('error', 'structure', `${location}: type ${suffix} is not allowed here; allowed: ${node.types.join(', ')} (${ctx.profileUrl})`, [location]),
      );
    }
  }
  if (node.fixed !== undefined && !deepEqual(value, node.fixed)) {
    ctx.issues.push(issue('error', 'value', `${location}: value must be exactly ${brief(node.fixed)}, found ${brief(value)} (${ctx.profileUrl})`, [location]));
  }
  if (node.pattern !== undefined && !matchesPattern(value, node.pattern)) {
    ctx.issues.push(issue('error', 'value', `${location}: value must match the pattern ${brief(node.pattern)}, found ${brief(value)} (${ctx.profileUrl})`, [location]));
  }
  if (node.binding?.strength === 'required' && node.binding.valueSet && isBindable(node, item.key)) {
    const ok = inValueSet(ctx, node.binding.valueSet, value);
    if (ok === false) {
      ctx.issues.push(
        issue('error', 'code-invalid', `${location}: ${brief(value)} is not in the required ValueSet ${node.binding.valueSet} (${ctx.profileUrl})`, [location]),
      );
    }
  }
  for (const c of node.constraints) {
    if (!isCheckable(c)) continue;
    const result = evaluateInvariant(c, item.typePath, value, ctx.resource);
    if (result === 'fail') {
      const severity = c.severity === 'warning' ? 'warning' : 'error';
      ctx.issues.push(issue(severity, 'invariant', `${location}: constraint ${c.key} failed: ${c.human} [${c.expression}] (${ctx.profileUrl})`, [location]));
    } else if (result === 'error') {
      ctx.issues.push(issue('information', 'informational', `${location}: constraint ${c.key} could not be evaluated and was skipped`, [location]));
    }
  }
  if (isObject(value)) {
    for (const child of node.children.values()) {
      checkChild(ctx, child, itemsOf(value, child, location, item.typePath), location, item.typePath);
    }
  }
}

/** Checks a whole resource against a profile tree; appends to ctx.issues. */
export function checkAgainstTree(ctx: ProfileCheckContext, root: ElementNode, resource: Record<string, unknown>): void {
  const type = String(resource.resourceType);
  checkItem(ctx, root, { value: resource, location: type, typePath: type, key: type });
}
