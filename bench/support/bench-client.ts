// A benchmark's backend-services client (SMART Backend Services), the way an integrator has one:
// registered in the server's database as `npm run admin -- clients add --type backend` registers
// it (the servers run in other processes, on the same database), and tokens from a server's token
// endpoint (client_credentials with private_key_jwt, through openid-client). The key pair and the
// grant are the tests' (server/test/support/test-auth.ts).
import { MongoClient } from 'mongodb';
import * as oidc from 'openid-client';
import { ClientRegistry } from '../../server/src/auth/clients.ts';
import { loadSecret, SecretBox } from '../../server/src/auth/secret-box.ts';
import { backendConfiguration, registerBackendClient, type BackendCredentials } from '../../server/test/support/test-auth.ts';

export interface BenchClient {
  credentials: BackendCredentials;
  /** What its tokens are asked for (and what it is registered for). */
  scope: string;
}

/** Registers a backend client on the database the servers use; `secret` is their AUTH_SECRET. */
export async function registerClient(mongoUri: string, databaseName: string, secret: string, scope = 'system/*.cruds'): Promise<BenchClient> {
  const client = new MongoClient(mongoUri);
  try {
    const registry = new ClientRegistry(client.db(databaseName), new SecretBox(loadSecret(secret, '')));
    return { credentials: await registerBackendClient(registry, { name: 'Benchmark', scope }), scope };
  } finally {
    await client.close();
  }
}

/**
 * A fresh access token from a server's token endpoint (for that server's FHIR base). Backend
 * tokens live five minutes, so benchmarks ask for one per measured run.
 */
export async function tokenFrom(url: string, c: BenchClient): Promise<string> {
  return (await oidc.clientCredentialsGrant(await backendConfiguration(url, c.credentials), { scope: c.scope })).access_token;
}
