// The server's own tools (the demo loader at start-up, `npm run seed`) call the FHIR API like any
// integrator: as a SMART backend service with a key pair, through the token endpoint. The client is
// registered once; its private key is stored encrypted beside the signing keys, so every instance
// and the command-line tools on the same database share it.
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Db } from 'mongodb';
import * as oidc from 'openid-client';
import { isDuplicateKey } from '../db/write-errors.ts';
import type { ClientRegistry } from './clients.ts';
import type { SecretBox } from './secret-box.ts';
import { KEYS_COLLECTION } from './signing-keys.ts';

export const TOOLS_CLIENT_ID = 'server-tools';
const KEY_ID = 'tools-client-key';
const ALG = 'ES384';

interface ToolsKeyDocument {
  _id: string;
  kind: 'tools-client';
  createdAt: Date;
  sealed: string;
}

/** The tools client's private key, registering the client (and making the key) on first use. */
export async function toolsClientKey(db: Db, box: SecretBox, clients: ClientRegistry): Promise<JWK> {
  const keys = db.collection<ToolsKeyDocument>(KEYS_COLLECTION);
  let doc = await keys.findOne({ _id: KEY_ID });
  if (!doc) {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: KEY_ID, alg: ALG };
    try {
      await keys.insertOne({ _id: KEY_ID, kind: 'tools-client', createdAt: new Date(), sealed: box.seal(JSON.stringify(jwk), `tools:${KEY_ID}`) });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // another instance made it first
    }
    doc = (await keys.findOne({ _id: KEY_ID }))!;
  }
  const privateJwk = JSON.parse(box.openText(doc.sealed, `tools:${KEY_ID}`)) as JWK;
  if (!(await clients.get(TOOLS_CLIENT_ID))) {
    const { d: _private, ...publicJwk } = privateJwk;
    try {
      await clients.create({ clientId: TOOLS_CLIENT_ID, name: 'Server tools (demo data, seed)', type: 'backend', jwks: { keys: [publicJwk] }, scope: 'system/*.cruds' });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  return privateJwk;
}

/**
 * An access token for the tools client from the token endpoint (client_credentials,
 * private_key_jwt). `tokenEndpoint` may be a local address of the server (the demo loader calls it
 * over loopback); the assertion's audience is the issuer, as oidc-provider accepts.
 */
export async function requestToolsToken(issuer: string, tokenEndpoint: string, privateJwk: JWK, scope = 'system/*.cruds'): Promise<string> {
  const key = (await importJWK(privateJwk, ALG)) as CryptoKey;
  const config = new oidc.Configuration(
    { issuer, token_endpoint: tokenEndpoint },
    TOOLS_CLIENT_ID,
    { token_endpoint_auth_signing_alg: ALG },
    oidc.PrivateKeyJwt({ key, kid: privateJwk.kid }),
  );
  if (tokenEndpoint.startsWith('http://')) oidc.allowInsecureRequests(config);
  const tokens = await oidc.clientCredentialsGrant(config, { scope });
  return tokens.access_token;
}
