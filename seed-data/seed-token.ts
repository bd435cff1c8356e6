// How `npm run seed` authenticates to the FHIR API: a token given with --token; a backend-services
// client given with --client-id and --key (a private JWK file); or, for the server this checkout
// runs (its URL from PORT/BASE_URL), the server's own tools client, whose key is in its database.
import fs from 'node:fs';
import { importJWK, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { ClientRegistry } from '../server/src/auth/clients.ts';
import { loadSecret, SecretBox } from '../server/src/auth/secret-box.ts';
import { requestToolsToken, toolsClientKey } from '../server/src/auth/tools-client.ts';
import type { ServerConfig } from '../server/src/config.ts';
import { connectForTool } from '../server/src/db/tool-connection.ts';
import { createLogger } from '../server/src/logger.ts';

export interface SeedCredentials {
  token?: string;
  clientId?: string;
  keyFile?: string;
}

/** A token source that renews the token a minute before it expires. */
function renewing(get: () => Promise<{ token: string; expiresIn: number }>): () => Promise<string> {
  let current: { token: string; until: number } | undefined;
  return async () => {
    if (!current || current.until - Date.now() < 60_000) {
      const next = await get();
      current = { token: next.token, until: Date.now() + next.expiresIn * 1000 };
    }
    return current.token;
  };
}

export async function seedAccessToken(config: ServerConfig, fhirUrl: string, credentials: SeedCredentials): Promise<() => Promise<string>> {
  if (credentials.token) {
    const token = credentials.token;
    return async () => token;
  }
  const origin = new URL(fhirUrl).origin;
  if (credentials.clientId || credentials.keyFile) {
    if (!credentials.clientId || !credentials.keyFile) throw new Error('--client-id and --key go together');
    const jwk = JSON.parse(fs.readFileSync(credentials.keyFile, 'utf8')) as JWK;
    if (!jwk.d) throw new Error(`${credentials.keyFile} must hold the client's private key (a JWK with "d")`);
    const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES384' : 'RS384');
    const key = (await importJWK(jwk, alg)) as CryptoKey;
    const server = new URL(fhirUrl.replace(/\/fhir\/?$/, '/auth'));
    const options: oidc.DiscoveryRequestOptions = server.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {};
    const config2 = await oidc.discovery(server, credentials.clientId, { token_endpoint_auth_signing_alg: alg }, oidc.PrivateKeyJwt({ key, kid: jwk.kid }), options);
    return renewing(async () => {
      const t = await oidc.clientCredentialsGrant(config2, { scope: 'system/*.cruds' });
      return { token: t.access_token, expiresIn: t.expires_in ?? 300 };
    });
  }
  // The server of this checkout: its tools client.
  const database = await connectForTool(config, createLogger('warn'), { startLocal: false });
  let key: JWK;
  try {
    const box = new SecretBox(loadSecret(config.auth.secret, config.dataDir));
    key = await toolsClientKey(database.db, box, new ClientRegistry(database.db, box));
  } finally {
    await database.close();
  }
  return renewing(async () => ({ token: await requestToolsToken(`${config.baseUrl}/auth`, `${origin}/auth/token`, key), expiresIn: 300 }));
}
