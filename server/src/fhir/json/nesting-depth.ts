// How deep a parsed JSON value nests, found without recursion, so that it can be asked of values
// too deep for the recursive code it protects (the schema validator, reference rewriting).
// Request bodies are checked as text before they are parsed (faithful-json.ts); this check is for
// values built on the server, such as a resource after a JSON Patch was applied.

/**
 * The deepest nesting any stored JSON can have: MongoDB nests documents at most 100 levels, and a
 * resource sits one level below the top of its document. (config.maxJsonDepth is at most this.)
 */
export const DEEPEST_STORABLE_JSON = 99;

/**
 * The path ("extension[0].extension[0]") of the first container nested deeper than maxDepth
 * (the value itself is level 1), or undefined when the value stays within it.
 */
export function pathBeyondDepth(value: unknown, maxDepth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Depth-first with an explicit stack; the path is rebuilt only when the limit is passed.
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as Record<string, unknown>;
    const childDepth = (depths.pop() as number) + 1;
    for (const key in node) {
      const child = node[key];
      if (typeof child !== 'object' || child === null) continue;
      if (childDepth > maxDepth) return pathTo(value, child);
      nodes.push(child);
      depths.push(childDepth);
    }
  }
  return undefined;
}

/** The path from root to target (breadth-first with parent links; only on the error path). */
function pathTo(root: object, target: object): string {
  const parent = new Map<object, { from: object; step: string }>();
  const queue: object[] = [root];
  for (let q = 0; q < queue.length; q++) {
    const node = queue[q];
    if (node === target) break;
    const entries: Array<[string, unknown]> = Array.isArray(node)
      ? node.map((v, i) => [`[${i}]`, v])
      : Object.entries(node).map(([k, v]) => [`.${k}`, v]);
    for (const [step, child] of entries) {
      if (typeof child !== 'object' || child === null || parent.has(child) || child === root) continue;
      parent.set(child, { from: node, step });
      queue.push(child);
    }
  }
  let path = '';
  for (let at: object = target; at !== root; ) {
    const link = parent.get(at);
    if (!link) break;
    path = link.step + path;
    at = link.from;
  }
  return path.startsWith('.') ? path.slice(1) : path;
}
