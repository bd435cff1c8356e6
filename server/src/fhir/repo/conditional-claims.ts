// Conditional creates made atomic: "create unless one matches" is a search then a write, and two
// requests with the same criteria could both find nothing and both create. Each first takes a
// claim on its criteria (a document whose _id is the hash of the type and the normalised
// criteria; inserts of one _id are atomic), searches again under the claim, and creates only then.
// Others with the same criteria wait for the claim to be released, then find what was created.
// (HAPI FHIR does the same with a unique row per normalised search URL.)
// See: https://hl7.org/fhir/R4/http.html#ccreate
import { createHash, randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from '../../db/write-errors.ts';
import { conflict } from '../outcome.ts';

export const CONDITIONAL_CLAIMS_COLLECTION = 'conditional_claims';

/** A claim older than this belongs to a request that died: it may be taken over. */
const STALE_MS = 60_000;
/** How long a request waits for another's claim before it answers 409. */
const WAIT_MS = 30_000;

interface ClaimDocument {
  _id: string;
  /** Unique per holder: only the holder releases it. */
  owner: string;
  /** The server instance holding it, so claims of a dead server can be removed at start-up. */
  instance: string;
  ts: Date;
}

/** Releases a held claim. */
export type Release = () => Promise<void>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The claim key of criteria: type plus the parameters in a canonical order (order does not change what matches). */
export function criteriaKey(type: string, params: Array<[string, string]>): string {
  const canonical = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return createHash('sha256').update(`${type}?${new URLSearchParams(canonical).toString()}`).digest('base64url');
}

export class ConditionalClaims {
  private readonly claims: Collection<ClaimDocument>;

  constructor(
    db: Db,
    /** This server instance's id (see instance-registry.ts). */
    private readonly instance: string,
  ) {
    this.claims = db.collection<ClaimDocument>(CONDITIONAL_CLAIMS_COLLECTION);
  }

  /** Takes the claim on `key`, waiting while another request holds it. */
  async acquire(key: string): Promise<Release> {
    const owner = randomUUID();
    const deadline = Date.now() + WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.claims.insertOne({ _id: key, owner, instance: this.instance, ts: new Date() });
        return async () => {
          await this.claims.deleteOne({ _id: key, owner });
        };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const held = await this.claims.findOne({ _id: key });
      if (held && Date.now() - held.ts.getTime() > STALE_MS) {
        await this.claims.deleteOne({ _id: key, owner: held.owner });
        continue;
      }
      if (Date.now() > deadline) throw conflict('Another request is creating a resource with the same criteria; try again');
      if (held) await sleep(Math.min(2 + attempt * 3, 50));
    }
  }

  /** Runs `work` holding the claim on `key`. */
  async hold<T>(key: string, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await work();
    } finally {
      await release().catch(() => undefined); // left behind, it goes stale and is taken over
    }
  }

  /** Removes the claims of server instances that are gone (start-up recovery). */
  async removeClaimsOf(instances: string[]): Promise<number> {
    if (instances.length === 0) return 0;
    const res = await this.claims.deleteMany({ instance: { $in: instances } });
    return res.deletedCount;
  }
}
