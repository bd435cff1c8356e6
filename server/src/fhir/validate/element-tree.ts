// A StructureDefinition as a tree the validator can walk alongside an instance: one node per
// element (children by name), slices hanging off the element they slice. Built from a snapshot,
// or from the base definition's tree plus a differential ("snapshot generation" reduced to what
// validation needs: cardinality, types, fixed/pattern, bindings, constraints, slicing).
// See: https://hl7.org/fhir/R4/elementdefinition.html and https://hl7.org/fhir/R4/profiling.html#slicing
import type { ElementDefinition, ElementDefinitionConstraint } from 'fhir/r4';

export interface SlicingDiscriminator {
  type: 'value' | 'exists' | 'pattern' | 'type' | 'profile';
  path: string;
}

export interface ElementNode {
  id: string;
  /** Last path segment: `category`, `value[x]`. */
  name: string;
  sliceName?: string;
  min: number;
  /** Infinity for "*". */
  max: number;
  /** Allowed type codes (empty: unconstrained here). */
  types: string[];
  /** Profiles on the type (used to find an extension slice's url). */
  typeProfiles: string[];
  fixed?: unknown;
  pattern?: unknown;
  binding?: { strength: string; valueSet?: string };
  constraints: ElementDefinitionConstraint[];
  slicing?: { discriminator: SlicingDiscriminator[]; rules: string };
  children: Map<string, ElementNode>;
  slices: ElementNode[];
}

function newNode(id: string, name: string, sliceName?: string): ElementNode {
  return { id, name, sliceName, min: 0, max: Infinity, types: [], typeProfiles: [], constraints: [], children: new Map(), slices: [] };
}

/** The value of the first `fixed[x]` / `pattern[x]` property of an element definition. */
function valueOfPrefix(el: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  for (const [k, v] of Object.entries(el)) {
    if (k.startsWith(prefix) && k.length > prefix.length && /[A-Z]/.test(k[prefix.length])) return v;
  }
  return undefined;
}

/** Splits an element id into its segments: "Observation.category:us-core.coding" → parts. */
function idSegments(id: string): Array<{ name: string; sliceName?: string }> {
  // Slice names never contain '.', but a type slice of a choice may ("value[x]:valueQuantity").
  return id.split('.').map((seg) => {
    const colon = seg.indexOf(':');
    return colon < 0 ? { name: seg } : { name: seg.slice(0, colon), sliceName: seg.slice(colon + 1) };
  });
}

/** Finds or creates the node an element id designates. */
function nodeFor(root: ElementNode, id: string): ElementNode {
  const segs = idSegments(id);
  let node = root;
  let soFar = segs[0].name;
  if (segs[0].sliceName) throw new Error(`Unsupported element id ${id}`);
  for (const seg of segs.slice(1)) {
    soFar += `.${seg.name}`;
    let child = node.children.get(seg.name);
    if (!child) {
      child = newNode(soFar, seg.name);
      node.children.set(seg.name, child);
    }
    if (seg.sliceName) {
      soFar += `:${seg.sliceName}`;
      let slice = child.slices.find((s) => s.sliceName === seg.sliceName);
      if (!slice) {
        slice = newNode(soFar, seg.name, seg.sliceName);
        // A new slice starts from the sliced element's own rules (except its cardinality).
        slice.types = [...child.types];
        slice.typeProfiles = [...child.typeProfiles];
        slice.binding = child.binding;
        child.slices.push(slice);
      }
      child = slice;
    }
    node = child;
  }
  return node;
}

/** Applies one element definition (snapshot or differential) onto its node. */
function apply(node: ElementNode, el: ElementDefinition, appendConstraints: boolean): void {
  if (el.min !== undefined) node.min = el.min;
  if (el.max !== undefined) node.max = el.max === '*' ? Infinity : Number(el.max);
  if (el.type) {
    node.types = el.type.map((t) => t.code);
    node.typeProfiles = el.type.flatMap((t) => t.profile ?? []);
  }
  const fixed = valueOfPrefix(el, 'fixed');
  if (fixed !== undefined) node.fixed = fixed;
  const pattern = valueOfPrefix(el, 'pattern');
  if (pattern !== undefined) node.pattern = pattern;
  if (el.binding) node.binding = { strength: el.binding.strength, valueSet: el.binding.valueSet };
  if (el.constraint) {
    if (appendConstraints) {
      const known = new Set(node.constraints.map((c) => c.key));
      node.constraints.push(...el.constraint.filter((c) => !known.has(c.key)));
    } else {
      node.constraints = [...el.constraint];
    }
  }
  if (el.slicing) {
    node.slicing = {
      discriminator: (el.slicing.discriminator ?? []).map((d) => ({ type: d.type, path: d.path })),
      rules: el.slicing.rules,
    };
  }
}

/** Tree of a snapshot (complete element list). */
export function treeFromSnapshot(elements: readonly ElementDefinition[]): ElementNode {
  const rootId = elements[0].id ?? elements[0].path;
  const root = newNode(rootId, rootId);
  for (const el of elements) {
    const node = el === elements[0] ? root : nodeFor(root, el.id ?? el.path);
    apply(node, el, false);
  }
  return root;
}

function cloneTree(node: ElementNode): ElementNode {
  return {
    ...node,
    types: [...node.types],
    typeProfiles: [...node.typeProfiles],
    constraints: [...node.constraints],
    slicing: node.slicing && { ...node.slicing, discriminator: [...node.slicing.discriminator] },
    children: new Map([...node.children].map(([k, v]) => [k, cloneTree(v)])),
    slices: node.slices.map(cloneTree),
  };
}

/** Tree of a differential applied on the base definition's tree (which is not modified). */
export function treeFromDifferential(base: ElementNode, elements: readonly ElementDefinition[]): ElementNode {
  const root = cloneTree(base);
  for (const el of elements) {
    const id = el.id ?? el.path;
    const node = id.includes('.') ? nodeFor(root, id) : root;
    apply(node, el, true);
  }
  return root;
}

/** Every ValueSet bound with `required` strength anywhere in the tree. */
export function requiredValueSets(node: ElementNode, out = new Set<string>()): Set<string> {
  if (node.binding?.strength === 'required' && node.binding.valueSet) out.add(node.binding.valueSet);
  for (const c of node.children.values()) requiredValueSets(c, out);
  for (const s of node.slices) requiredValueSets(s, out);
  return out;
}
