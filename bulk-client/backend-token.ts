// SMART Backend Services for the export client: the server's token endpoint from its
// .well-known/smart-configuration, a client assertion signed with the client's private key (a JWK
// file) whose audience is the token endpoint, as the spec asks, and client_credentials through
// openid-client. Tokens are renewed a minute before they expire (exports outlive them).
// See: https://hl7.org/fhir/smart-app-launch/backend-services.html
import fs from 'node:fs';
import { importJWK, type JWK } from 'jose';
import * as oidc from 'openid-client';

export interface BackendClientOptions {
  fhirBase: string;
  clientId: string;
  keyFile: string;
  scope: string;
}

/** A function that returns a valid access token, fetching a new one when needed. */
export async function backendTokens(o: BackendClientOptions): Promise<() => Promise<string>> {
  const jwk = JSON.parse(fs.readFileSync(o.keyFile, 'utf8')) as JWK & { keys?: JWK[] };
  const privateJwk = jwk.keys ? jwk.keys.find((k) => k.d) : jwk;
  if (!privateJwk?.d) throw new Error(`${o.keyFile} must hold the client's private key (a JWK, or a JWKS with one, with "d")`);
  const alg = privateJwk.alg ?? (privateJwk.kty === 'EC' ? 'ES384' : 'RS384');
  const key = (await importJWK(privateJwk, alg)) as CryptoKey;
  const smart = await fetch(`${o.fhirBase}/.well-known/smart-configuration`, { headers: { accept: 'application/json' } });
  if (!smart.ok) throw new Error(`${o.fhirBase}/.well-known/smart-configuration answered ${smart.status}`);
  const discovered = (await smart.json()) as { issuer?: string; token_endpoint?: string };
  if (!discovered.token_endpoint) throw new Error('the server\'s SMART configuration names no token_endpoint');
  const tokenEndpoint = discovered.token_endpoint;
  const server: oidc.ServerMetadata = { issuer: discovered.issuer ?? new URL(tokenEndpoint).origin, token_endpoint: tokenEndpoint };
  const auth = oidc.PrivateKeyJwt(
    { key, kid: privateJwk.kid },
    {
      [oidc.modifyAssertion]: (_header: Record<string, unknown>, payload: Record<string, unknown>) => {
        payload.aud = tokenEndpoint; // SMART Backend Services: the audience is the token endpoint
      },
    },
  );
  const config = new oidc.Configuration(server, o.clientId, { token_endpoint_auth_signing_alg: alg }, auth);
  if (new URL(tokenEndpoint).protocol === 'http:') oidc.allowInsecureRequests(config);
  let current: { token: string; until: number } | undefined;
  return async () => {
    if (!current || current.until - Date.now() < 60_000) {
      const t = await oidc.clientCredentialsGrant(config, { scope: o.scope });
      current = { token: t.access_token, until: Date.now() + (t.expires_in ?? 300) * 1000 };
    }
    return current.token;
  };
}
