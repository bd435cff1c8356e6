// Deterministic resource ids. Every id is a UUID derived by hashing (seed, scope, counter), so the
// same seed always produces the same ids and loading a bundle twice PUTs over the same resources
// instead of creating duplicates (see README: "Idempotent loading").
import { createHash } from 'node:crypto';

/** A UUID (version 5 layout) from the SHA-1 of a name; RFC 9562 §5.5 without a namespace UUID. */
export function uuidFromName(name: string): string {
  const hash = createHash('sha1').update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Hands out ids within one scope (one patient, or the shared clinic directory). */
export class IdFactory {
  private counter = 0;

  constructor(
    private readonly seed: string,
    private readonly scope: string,
  ) {}

  /** Next id in this scope; the resource type is part of the name so ids never collide across types. */
  next(resourceType: string): string {
    this.counter += 1;
    return uuidFromName(`${this.seed}/${this.scope}/${resourceType}/${this.counter}`);
  }

  /** An id named by a stable key rather than by order (used for the clinic directory). */
  named(resourceType: string, key: string): string {
    return uuidFromName(`${this.seed}/${this.scope}/${resourceType}/${key}`);
  }
}
