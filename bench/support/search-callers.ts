// Who sends the search benchmark's searches, with the token a real caller of that kind has:
//   patient  each search of patient X's data carries X's own token (a standalone launch of a
//            patient app: patient-tokens.ts), so the server adds what a patient's token adds
//            (their compartment, released results). Signing a patient in takes ~0.5 s, so a pool
//            of patients spread over the data have accounts and the searches pick X from them.
//   system   a backend-services token (bench-client.ts) standing in for staff: staff accounts
//            need an authenticator code at every sign-in, and a staff member of a clinic that
//            manages every patient sees what a system client with the same read scope sees.
import type { Db } from 'mongodb';
import type { ServerConfig } from '../../server/src/config.ts';
import { registerClient, tokenFrom, type BenchClient } from './bench-client.ts';
import { patientTokens, type BenchPerson } from './patient-tokens.ts';

export type CallerKind =
  | { kind: 'patient'; scopes: string[]; person(i: number): BenchPerson }
  | { kind: 'system'; scope: string };

export interface Callers {
  /** What the benchmark prints about its callers. */
  description: string;
  /** The patients whose data the searches are about: a pool, or undefined for all of them. */
  pool?: number[];
  /** A patient number to search for (from the pool, if there is one). */
  pick(): number;
  /** The Authorization header of a search about patient i. */
  authorization(i: number): string;
  /** Renews tokens that could expire during the next few minutes (backend tokens live five). */
  renew(): Promise<void>;
}

/** Backend tokens are renewed when older than this (they live 300 s; a measured run lasts seconds). */
const SYSTEM_TOKEN_RENEW_MS = 120_000;

/** Pool of `size` patient numbers spread evenly over 0 … patients - 1. */
export function spreadPool(patients: number, size: number): number[] {
  const n = Math.min(size, patients);
  return Array.from({ length: n }, (_, k) => Math.floor(((k + 0.5) * patients) / n));
}

export async function prepareCallers(
  caller: CallerKind,
  o: { config: ServerConfig; db: Db; mongoUri: string; patients: number; poolSize: number },
): Promise<Callers> {
  const secret = o.config.auth.secret;
  if (!secret) throw new Error('the benchmark server needs an explicit AUTH_SECRET');
  if (caller.kind === 'system') {
    const client: BenchClient = await registerClient(o.mongoUri, o.db.databaseName, secret, caller.scope);
    let token = { value: await tokenFrom(o.config.baseUrl, client), at: Date.now() };
    return {
      description: `a backend-services token (${caller.scope}) for every search, over all ${o.patients} patients`,
      pick: () => Math.floor(Math.random() * o.patients),
      authorization: () => `Bearer ${token.value}`,
      async renew() {
        if (Date.now() - token.at > SYSTEM_TOKEN_RENEW_MS) token = { value: await tokenFrom(o.config.baseUrl, client), at: Date.now() };
      },
    };
  }
  const pool = spreadPool(o.patients, o.poolSize);
  const started = Date.now();
  const tokens = await patientTokens(o.config, o.db, pool.map(caller.person), caller.scopes);
  const byNumber = new Map(pool.map((i) => [i, `Bearer ${tokens.get(caller.person(i).id)}`]));
  const lifetimeMs = o.config.auth.accessTokenTtlSeconds * 1000;
  return {
    description: `each search with the token of the patient it is about (standalone launch, ${caller.scopes.join(' ')}), X from ${pool.length} patients spread over the ${o.patients} (signed in in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    pool,
    pick: () => pool[Math.floor(Math.random() * pool.length)],
    authorization: (i) => {
      const header = byNumber.get(i);
      if (!header) throw new Error(`patient ${i} is not in the pool of patients with tokens`);
      return header;
    },
    async renew() {
      // Patient tokens live ACCESS_TOKEN_TTL (an hour by default): far longer than a run of the
      // portal set, so they are not renewed; a run that outlasts them stops with 401s, not wrong figures.
      if (Date.now() - started > lifetimeMs - 60_000) throw new Error('the patient tokens are about to expire (ACCESS_TOKEN_TTL); run fewer searches or shorter');
    },
  };
}
