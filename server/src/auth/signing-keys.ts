// The authorization server's signing keys (id_token RS256, plus ES256) and cookie keys: generated
// once, stored encrypted in the database (shared by every instance), rotated by `npm run admin --
// keys rotate`. After a rotation the new key signs; the old one stays published until every token
// it signed has expired, then it is dropped.
import { generateKeyPair, exportJWK, type JWK } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from '../db/write-errors.ts';
import type { SecretBox } from './secret-box.ts';

export const KEYS_COLLECTION = 'auth_keys';
/** Algorithms signed with; RS256 first: SMART requires it for id_tokens. */
const ALGORITHMS = ['RS256', 'ES256'] as const;

interface KeyDocument {
  _id: string;
  kind: 'signing' | 'cookies';
  alg?: string;
  createdAt: Date;
  /** Set when a newer key took over; the key stays published until retiredAt + publishFor. */
  retiredAt?: Date;
  sealed: string;
}

export interface KeySet {
  /** Private JWKs for oidc-provider's `jwks`, current keys first. */
  jwks: { keys: JWK[] };
  /** Cookie signing keys, current first. */
  cookieKeys: string[];
  /** Changes whenever the set changes (new key, key dropped). */
  version: string;
}

async function newSigningKey(alg: (typeof ALGORITHMS)[number]): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: randomUUID(), alg, use: 'sig' };
}

export class SigningKeys {
  private readonly keys: Collection<KeyDocument>;

  constructor(
    db: Db,
    private readonly box: SecretBox,
    /** How long a retired key stays published: the longest lifetime of a token it signed. */
    private readonly publishForMs: number,
  ) {
    this.keys = db.collection<KeyDocument>(KEYS_COLLECTION);
  }

  /** Creates the first keys if there are none (several instances starting at once agree on one set). */
  async ensure(): Promise<void> {
    for (const alg of ALGORITHMS) {
      if (await this.keys.findOne({ kind: 'signing', alg, retiredAt: { $exists: false } })) continue;
      await this.insertSigning(alg, 'initial');
    }
    if (!(await this.keys.findOne({ kind: 'cookies', retiredAt: { $exists: false } }))) await this.insertCookies('initial');
  }

  /** Retires the current keys and creates new ones. Returns the new signing key ids. */
  async rotate(): Promise<string[]> {
    const now = new Date();
    await this.keys.updateMany({ retiredAt: { $exists: false } }, { $set: { retiredAt: now } });
    const ids: string[] = [];
    for (const alg of ALGORITHMS) ids.push(await this.insertSigning(alg, randomUUID()));
    await this.insertCookies(randomUUID());
    await this.keys.deleteMany({ retiredAt: { $lt: new Date(now.getTime() - this.publishForMs) } });
    return ids;
  }

  /** The keys to serve: current, then retired ones still published. */
  async load(): Promise<KeySet> {
    const cutoff = Date.now() - this.publishForMs;
    const docs = (await this.keys.find({}).toArray())
      .filter((d) => !d.retiredAt || d.retiredAt.getTime() > cutoff)
      .sort((a, b) => Number(Boolean(a.retiredAt)) - Number(Boolean(b.retiredAt)) || b.createdAt.getTime() - a.createdAt.getTime());
    const signing = docs.filter((d) => d.kind === 'signing');
    const cookies = docs.filter((d) => d.kind === 'cookies');
    return {
      jwks: { keys: signing.map((d) => JSON.parse(this.box.openText(d.sealed, `signing-key:${d._id}`)) as JWK) },
      cookieKeys: cookies.flatMap((d) => JSON.parse(this.box.openText(d.sealed, `cookie-keys:${d._id}`)) as string[]),
      version: docs.map((d) => `${d._id}${d.retiredAt ? '-' : '+'}`).join(','),
    };
  }

  private async insertSigning(alg: (typeof ALGORITHMS)[number], slot: string): Promise<string> {
    const jwk = await newSigningKey(alg);
    const id = jwk.kid!;
    // The slot makes concurrent first starts insert one initial key per algorithm.
    const _id = slot === 'initial' ? `initial-${alg}` : id;
    const key = slot === 'initial' ? { ...jwk, kid: _id } : jwk;
    try {
      await this.keys.insertOne({ _id, kind: 'signing', alg, createdAt: new Date(), sealed: this.box.seal(JSON.stringify(key), `signing-key:${_id}`) });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    return _id;
  }

  private async insertCookies(slot: string): Promise<void> {
    const _id = slot === 'initial' ? 'initial-cookies' : slot;
    const keys = [randomBytes(32).toString('base64url')];
    try {
      await this.keys.insertOne({ _id, kind: 'cookies', createdAt: new Date(), sealed: this.box.seal(JSON.stringify(keys), `cookie-keys:${_id}`) });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
}
