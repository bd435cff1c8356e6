// Tests get their tokens the way a real integrator does: a SMART backend-services client with its
// own key pair, registered like `npm run admin -- clients add --type backend` registers one, and
// tokens from the token endpoint (client_credentials with private_key_jwt, through openid-client).
// fhirFetch and FhirTestClient add the token of the server a URL belongs to.
import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import type { ClientRegistry } from '../../src/auth/clients.ts';

export interface BackendCredentials {
  clientId: string;
  privateKey: CryptoKey;
  kid: string;
  alg: 'ES384' | 'RS384';
}

/** Registers a backend-services client with a new key pair. */
export async function registerBackendClient(
  clients: ClientRegistry,
  options: { scope?: string; name?: string; alg?: 'ES384' | 'RS384'; group?: string } = {},
): Promise<BackendCredentials> {
  const alg = options.alg ?? 'ES384';
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `test-${Math.random().toString(36).slice(2)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const created = await clients.create({
    name: options.name ?? 'Test integrator',
    type: 'backend',
    jwks: { keys: [jwk] },
    scope: options.scope ?? 'system/*.cruds',
    group: options.group,
  });
  return { clientId: created.clientId, privateKey: privateKey as CryptoKey, kid, alg };
}

/** openid-client's view of a server, for a backend client. */
export async function backendConfiguration(baseUrl: string, credentials: BackendCredentials): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(`${baseUrl}/auth`),
    credentials.clientId,
    { token_endpoint_auth_signing_alg: credentials.alg },
    oidc.PrivateKeyJwt({ key: credentials.privateKey, kid: credentials.kid }),
    { execute: [oidc.allowInsecureRequests] },
  );
}

/** Tokens of one client, renewed shortly before they expire. */
export class TokenSource {
  private current?: { token: string; expiresAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly fetchToken: () => Promise<{ access_token: string; expires_in?: number }>,
  ) {}

  async token(): Promise<string> {
    if (this.current && this.current.expiresAt - Date.now() > 30_000) return this.current.token;
    this.pending ??= this.fetchToken()
      .then((t) => {
        this.current = { token: t.access_token, expiresAt: Date.now() + (t.expires_in ?? 300) * 1000 };
        return t.access_token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}

export function backendTokenSource(baseUrl: string, credentials: BackendCredentials, scope = 'system/*.cruds'): TokenSource {
  let config: oidc.Configuration | undefined;
  return new TokenSource(async () => {
    config ??= await backendConfiguration(baseUrl, credentials);
    return oidc.clientCredentialsGrant(config, { scope });
  });
}

/** Token sources by server origin: fhirFetch uses the one of the URL it calls. */
const sources = new Map<string, TokenSource>();

export function useTokenSource(baseUrl: string, source: TokenSource): void {
  sources.set(new URL(baseUrl).origin, source);
}

/** The Authorization header for a request to `url`, when its server has a token source. */
export async function authorizationFor(url: string): Promise<Record<string, string>> {
  const source = sources.get(new URL(url).origin);
  return source ? { authorization: `Bearer ${await source.token()}` } : {};
}
