// Rewrites references inside a transaction: fullUrls of other entries (urn:uuid:… or absolute
// URLs) become the Type/id the server assigned, and conditional references (Patient?identifier=…)
// become the one resource they match. See: https://hl7.org/fhir/R4/http.html#trules
import type { FhirResource as Resource } from 'fhir/r4';
import { badRequest, preconditionFailed } from '../outcome.ts';
import { isResourceType } from '../definitions.ts';
import type { StoredResource } from '../types.ts';

type Matcher = (type: string, params: Array<[string, string]>) => Promise<StoredResource[]>;

export async function rewriteReferences(
  resource: Resource,
  idMap: Map<string, string>,
  fhirBase: string,
  match: Matcher,
): Promise<Resource> {
  const cache = new Map<string, string>();

  async function resolve(ref: string, path: string): Promise<string> {
    const mapped = idMap.get(ref);
    if (mapped) return mapped;
    if (ref.startsWith('urn:uuid:') || ref.startsWith('urn:oid:')) {
      throw badRequest(`The reference "${ref.slice(0, 80)}" names no entry of this transaction`, [path]);
    }
    const local = ref.startsWith(`${fhirBase}/`) ? ref.slice(fhirBase.length + 1) : ref;
    const q = local.indexOf('?');
    if (q > 0 && isResourceType(local.slice(0, q)) && !local.slice(0, q).includes('/')) {
      const hit = cache.get(local);
      if (hit) return hit;
      const type = local.slice(0, q);
      const params = [...new URLSearchParams(local.slice(q + 1)).entries()];
      const matches = await match(type, params);
      if (matches.length !== 1) {
        throw preconditionFailed(
          `The conditional reference "${local.slice(0, 80)}" matches ${matches.length === 0 ? 'no' : 'more than one'} ${type}`,
        );
      }
      const resolved = `${type}/${matches[0].resource.id}`;
      cache.set(local, resolved);
      return resolved;
    }
    return ref;
  }

  async function walk(node: unknown, path: string): Promise<unknown> {
    if (Array.isArray(node)) {
      const out = [];
      for (let i = 0; i < node.length; i++) out.push(await walk(node[i], `${path}[${i}]`));
      return out;
    }
    if (typeof node !== 'object' || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      const childPath = `${path}.${key}`;
      if (key === 'reference' && typeof value === 'string') out[key] = await resolve(value, childPath);
      else out[key] = await walk(value, childPath);
    }
    return out;
  }

  return (await walk(resource, resource.resourceType)) as Resource;
}
