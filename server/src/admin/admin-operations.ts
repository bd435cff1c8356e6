// Administration, once for both ways in: `npm run admin -- <command>` (admin-command.ts) and the
// admin-only API (admin-api.ts). Each operation takes plain arguments and returns a plain result
// that the CLI prints (or prints as JSON) and the API sends.
import fs from 'node:fs';
import type { Db } from 'mongodb';
import type { ServerConfig } from '../config.ts';
import type { AccountServices } from '../auth/accounts/account-services.ts';
import { endClientAccess } from '../auth/accounts/access-ending.ts';
import { AccountStore } from '../auth/accounts/account-store.ts';
import { ClientRegistry, type ClientRecord, type ClientType } from '../auth/clients.ts';
import { loadSecret, SecretBox } from '../auth/secret-box.ts';
import { SigningKeys } from '../auth/signing-keys.ts';
import { requestToolsToken, toolsClientKey } from '../auth/tools-client.ts';

/** A problem with the arguments: the CLI prints it and exits 2, the API answers 400. */
export class AdminUsageError extends Error {
  override name = 'AdminUsageError';
}

export interface AdminContext {
  config: ServerConfig;
  db: Db;
  box: SecretBox;
  clients: ClientRegistry;
  keys: SigningKeys;
  accounts: AccountStore;
  /** The server's account services (admin API); the CLI builds its own on first use. */
  accountServices?: AccountServices;
}

/** Retired signing keys stay published for two hours (see auth-server.ts). */
const PUBLISH_RETIRED_KEYS_MS = 2 * 60 * 60_000;

export function adminContext(config: ServerConfig, db: Db, accounts?: AccountStore, accountServices?: AccountServices): AdminContext {
  const box = new SecretBox(loadSecret(config.auth.secret, config.dataDir));
  return {
    config,
    db,
    box,
    clients: new ClientRegistry(db, box),
    keys: new SigningKeys(db, box, PUBLISH_RETIRED_KEYS_MS),
    // Without the FHIR repository, names of linked resources are not looked up (not needed here).
    accounts: accounts ?? new AccountStore(db, async () => undefined),
    accountServices,
  };
}

export interface AddClientArgs {
  name?: string;
  type?: string;
  redirectUris?: string[];
  jwksFile?: string;
  jwks?: { keys: object[] };
  jwksUrl?: string;
  scope?: string;
  launchUri?: string;
  group?: string;
}

const CLIENT_TYPES: ClientType[] = ['public', 'confidential', 'confidential-asymmetric', 'backend'];

function clientSummary(record: ClientRecord) {
  return {
    clientId: record._id,
    name: record.name,
    type: record.type,
    redirectUris: record.metadata.redirect_uris ?? [],
    scope: record.allowedScope,
    tokenEndpointAuthMethod: record.metadata.token_endpoint_auth_method,
    jwksUrl: record.metadata.jwks_uri,
    group: record.group,
    createdAt: record.createdAt.toISOString(),
  };
}

export async function addClient(ctx: AdminContext, args: AddClientArgs) {
  if (!args.name) throw new AdminUsageError('--name is required');
  const type = (args.type === 'confidential-symmetric' ? 'confidential' : args.type) as ClientType;
  if (!CLIENT_TYPES.includes(type)) throw new AdminUsageError(`--type must be one of public, confidential, confidential-asymmetric, backend`);
  let jwks = args.jwks;
  if (args.jwksFile) {
    try {
      jwks = JSON.parse(fs.readFileSync(args.jwksFile, 'utf8')) as { keys: object[] };
    } catch (err) {
      throw new AdminUsageError(`cannot read the JWKS file ${args.jwksFile}: ${(err as Error).message}`);
    }
    if (!Array.isArray(jwks?.keys)) throw new AdminUsageError(`${args.jwksFile} is not a JWKS ({"keys": [...]})`);
    if (jwks.keys.some((k) => 'd' in k)) throw new AdminUsageError(`${args.jwksFile} holds a private key; register only the public keys`);
  }
  try {
    const created = await ctx.clients.create({
      name: args.name,
      type,
      redirectUris: args.redirectUris,
      jwks,
      jwksUri: args.jwksUrl,
      scope: args.scope,
      launchUri: args.launchUri,
      group: args.group,
    });
    return { ...clientSummary(created.record), ...(created.clientSecret ? { clientSecret: created.clientSecret } : {}) };
  } catch (err) {
    if ((err as Error).name === 'Error') throw new AdminUsageError((err as Error).message);
    throw err;
  }
}

export async function listClients(ctx: AdminContext) {
  return (await ctx.clients.list()).map(clientSummary);
}

export async function removeClient(ctx: AdminContext, clientId: string | undefined) {
  if (!clientId) throw new AdminUsageError('give the client id to remove');
  if (!(await ctx.clients.remove(clientId))) throw new AdminUsageError(`no client ${clientId}`);
  // Its tokens go with it.
  await endClientAccess(ctx.db, clientId);
  return { removed: clientId };
}

/**
 * A short-lived access token of the server's own tools client (system scopes), from the running
 * server's token endpoint: for trying the API with curl. Whoever can run admin commands can
 * already read the database, so this grants nothing new.
 */
export async function toolsToken(ctx: AdminContext, scope: string | undefined) {
  const key = await toolsClientKey(ctx.db, ctx.box, ctx.clients);
  const issuer = `${ctx.config.baseUrl}/auth`;
  const token = await requestToolsToken(issuer, `${issuer}/token`, key, scope ?? 'system/*.cruds');
  return { accessToken: token, expiresIn: 300, scope: scope ?? 'system/*.cruds' };
}

export async function rotateKeys(ctx: AdminContext) {
  await ctx.keys.ensure();
  const ids = await ctx.keys.rotate();
  return { signingKeys: ids, note: 'running servers pick the new keys up within a minute; the old keys stay published for two hours' };
}
