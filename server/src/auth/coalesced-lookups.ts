// Lookups the FHIR API makes on every request (an access token by its hashed id, the sign-in
// session an online token lives with by its uid), coalesced: many concurrent requests carry the
// same few tokens, and each query costs the server and the database a socket write and a command,
// more than the lookup itself.
//
// One query per collection and key field is in flight at a time: lookups that arrive meanwhile
// wait for it to finish and then go together in the next one (`{field: {$in: [...]}}`). Under load
// that turns many round trips into few; when idle a lookup goes at once. A lookup is never
// answered from a query sent before it arrived, so a token revoked (or a session ended) before a
// request starts is never accepted for it.
import type { Db, Document } from 'mongodb';
import { findBounded } from '../db/bounded-find.ts';

interface Waiter<T> {
  resolve: (docs: T[]) => void;
  reject: (err: unknown) => void;
}

export class CoalescedLookup<T extends Document> {
  private pending = new Map<string, Array<Waiter<T>>>();
  private scheduled = false;
  private inFlight = false;

  /**
   * @param field the key field; `_id` holds one document per key, any other field may hold several
   * @param extra conditions every document must also meet (e.g. the model of a shared collection)
   */
  constructor(
    private readonly db: Db,
    private readonly collection: string,
    private readonly field: string,
    private readonly extra: Document = {},
    private readonly projection?: Document,
  ) {}

  /** The documents whose `field` equals `key` (at most one for `_id`). */
  find(key: string): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.pending.size === 0) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    this.inFlight = true;
    try {
      const byKey = await this.query([...batch.keys()]);
      for (const [key, waiting] of batch) for (const w of waiting) w.resolve(byKey.get(key) ?? []);
    } catch (err) {
      for (const waiting of batch.values()) for (const w of waiting) w.reject(err);
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }

  private async query(keys: string[]): Promise<Map<string, T[]>> {
    const filter = { ...this.extra, [this.field]: keys.length === 1 ? keys[0] : { $in: keys } };
    // One document per key is the rule (a token's id, a session's uid), but only `_id` is unique:
    // room for a few more, and a reply that fills the room may have left documents out, so it is
    // read again without a bound.
    const limit = this.field === '_id' ? keys.length : keys.length * 2 + 2;
    let docs = await findBounded<T>(this.db, this.collection, { filter, limit, projection: this.projection });
    if (this.field !== '_id' && docs.length >= limit) {
      docs = (await this.db.collection(this.collection).find(filter, { projection: this.projection }).toArray()) as unknown as T[];
    }
    const byKey = new Map<string, T[]>();
    for (const doc of docs) {
      const key = String(doc[this.field]);
      const list = byKey.get(key);
      if (list) list.push(doc);
      else byKey.set(key, [doc]);
    }
    return byKey;
  }
}

const lookups = new WeakMap<Db, Map<string, CoalescedLookup<Document>>>();

/** The one coalescing lookup of `db` for this collection, key field and extra condition. */
export function coalescedLookup<T extends Document>(db: Db, collection: string, field: string, extra: Document = {}, projection?: Document): CoalescedLookup<T> {
  let byName = lookups.get(db);
  if (!byName) lookups.set(db, (byName = new Map()));
  const name = JSON.stringify([collection, field, extra, projection ?? null]);
  let lookup = byName.get(name);
  if (!lookup) byName.set(name, (lookup = new CoalescedLookup<Document>(db, collection, field, extra, projection)));
  return lookup as unknown as CoalescedLookup<T>;
}
