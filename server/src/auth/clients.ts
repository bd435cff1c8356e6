// Registered OAuth clients (SMART apps and backend services), in the database so every instance
// shares them. Secrets of confidential clients are stored encrypted (oidc-provider compares the
// secret a client sends with the stored one, so it must be recoverable) and shown once at creation.
// See: https://hl7.org/fhir/smart-app-launch/app-launch.html#register-app-with-ehr
import { randomBytes, randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { ClientMetadata } from 'oidc-provider';
import type { SecretBox } from './secret-box.ts';

export const CLIENTS_COLLECTION = 'auth_clients';

export type ClientType = 'public' | 'confidential' | 'confidential-asymmetric' | 'backend';

export interface ClientRegistration {
  name: string;
  type: ClientType;
  redirectUris?: string[];
  /** Where the app's sign-out at the authorization server may send the browser back to. */
  postLogoutRedirectUris?: string[];
  /** Inline public keys (asymmetric and backend clients). */
  jwks?: { keys: object[] };
  jwksUri?: string;
  /** Scopes the client may be granted (space-separated); by default those of its type. */
  scope?: string;
  /** Fixed id (the portal's, derived from configuration); otherwise a new one. */
  clientId?: string;
  /** URIs an EHR opens to launch the app (EHR launch). */
  launchUri?: string;
  /** A backend service limited to the members of this Group (Group/id): it reaches only their records. */
  group?: string;
}

export interface ClientRecord {
  _id: string;
  name: string;
  type: ClientType;
  /** Every scope the client may be granted (SMART resource scopes included). */
  allowedScope: string;
  /** What oidc-provider loads; its `scope` holds only the server's static (non-resource) scopes. */
  metadata: ClientMetadata;
  /** Group/id: a backend service that reaches only this Group's members. */
  group?: string;
  sealedSecret?: string;
  createdAt: Date;
}

export interface CreatedClient {
  clientId: string;
  /** Only for confidential clients, only now. */
  clientSecret?: string;
  record: ClientRecord;
}

const DEFAULT_SCOPES: Record<ClientType, string> = {
  public: 'openid fhirUser profile launch launch/patient launch/encounter offline_access online_access patient/*.cruds user/*.cruds patient/*.* user/*.*',
  confidential: 'openid fhirUser profile launch launch/patient launch/encounter offline_access online_access patient/*.cruds user/*.cruds patient/*.* user/*.*',
  'confidential-asymmetric':
    'openid fhirUser profile launch launch/patient launch/encounter offline_access online_access patient/*.cruds user/*.cruds patient/*.* user/*.*',
  backend: 'system/*.cruds system/*.*',
};

/** The scopes oidc-provider knows itself (identity and launch); resource scopes are the FHIR server's. */
export const STATIC_SCOPES = new Set(['openid', 'fhirUser', 'profile', 'email', 'launch', 'launch/patient', 'launch/encounter', 'offline_access', 'online_access']);

/** Why a registration cannot be made, or undefined. */
export function registrationProblem(reg: ClientRegistration): string | undefined {
  if (!reg.name.trim()) return 'a client needs a name';
  const interactive = reg.type !== 'backend';
  if (interactive && (!reg.redirectUris || reg.redirectUris.length === 0)) return `a ${reg.type} client needs at least one redirect URI`;
  for (const uri of reg.redirectUris ?? []) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return `redirect URI ${uri} is not a URL`;
    }
    if (url.hash) return `redirect URI ${uri} must not have a fragment`;
  }
  if ((reg.type === 'backend' || reg.type === 'confidential-asymmetric') && !reg.jwks && !reg.jwksUri) {
    return `a ${reg.type} client needs its public keys: a JWKS or a JWKS URL`;
  }
  if (reg.jwks && reg.jwksUri) return 'give either a JWKS or a JWKS URL, not both';
  if (reg.jwksUri && !/^https?:\/\//.test(reg.jwksUri)) return 'the JWKS URL must be an http(s) URL';
  if (reg.group !== undefined && (reg.type !== 'backend' || !/^Group\/[A-Za-z0-9\-.]{1,64}$/.test(reg.group))) {
    return 'a group (Group/id) limits a backend client only';
  }
  return undefined;
}

export class ClientRegistry {
  private readonly clients: Collection<ClientRecord>;

  constructor(
    db: Db,
    private readonly box: SecretBox,
  ) {
    this.clients = db.collection<ClientRecord>(CLIENTS_COLLECTION);
  }

  async create(reg: ClientRegistration): Promise<CreatedClient> {
    const problem = registrationProblem(reg);
    if (problem) throw new Error(problem);
    const clientId = reg.clientId ?? randomUUID();
    const allowedScope = reg.scope ?? DEFAULT_SCOPES[reg.type];
    const statics = allowedScope.split(' ').filter((s) => STATIC_SCOPES.has(s));
    const metadata: ClientMetadata = { client_id: clientId, client_name: reg.name };
    if (statics.length > 0) metadata.scope = statics.join(' ');
    let clientSecret: string | undefined;
    if (reg.type === 'backend') {
      Object.assign(metadata, {
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
      });
    } else {
      Object.assign(metadata, {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: reg.redirectUris,
        token_endpoint_auth_method: reg.type === 'public' ? 'none' : reg.type === 'confidential' ? 'client_secret_basic' : 'private_key_jwt',
      });
      if (reg.launchUri) metadata.initiate_login_uri = reg.launchUri;
      if (reg.postLogoutRedirectUris) metadata.post_logout_redirect_uris = reg.postLogoutRedirectUris;
    }
    if (reg.jwks) metadata.jwks = reg.jwks as ClientMetadata['jwks'];
    if (reg.jwksUri) metadata.jwks_uri = reg.jwksUri;
    const record: ClientRecord = { _id: clientId, name: reg.name, type: reg.type, allowedScope, metadata, createdAt: new Date() };
    if (reg.group) record.group = reg.group;
    if (reg.type === 'confidential') {
      clientSecret = randomBytes(32).toString('base64url');
      record.sealedSecret = this.box.seal(clientSecret, `client-secret:${clientId}`);
    }
    await this.clients.insertOne(record);
    return { clientId, clientSecret, record };
  }

  /** Creates or updates a client with a fixed id (the portal, registered at start-up). */
  async ensure(reg: ClientRegistration & { clientId: string }): Promise<void> {
    const existing = await this.clients.findOne({ _id: reg.clientId });
    if (existing) {
      const same =
        JSON.stringify(existing.metadata.redirect_uris) === JSON.stringify(reg.redirectUris) &&
        JSON.stringify(existing.metadata.post_logout_redirect_uris) === JSON.stringify(reg.postLogoutRedirectUris) &&
        existing.name === reg.name;
      if (same) return;
      await this.clients.deleteOne({ _id: reg.clientId });
    }
    try {
      await this.create(reg);
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err; // another instance registered it
    }
  }

  async list(): Promise<ClientRecord[]> {
    return this.clients.find({}).sort({ createdAt: 1 }).toArray();
  }

  async get(clientId: string): Promise<ClientRecord | null> {
    return this.clients.findOne({ _id: clientId });
  }

  async remove(clientId: string): Promise<boolean> {
    return (await this.clients.deleteOne({ _id: clientId })).deletedCount === 1;
  }

  /** The metadata oidc-provider loads (the secret decrypted only here, in memory). */
  async metadataOf(clientId: string): Promise<ClientMetadata | undefined> {
    const record = await this.get(clientId);
    if (!record) return undefined;
    const metadata = { ...record.metadata };
    if (record.sealedSecret) metadata.client_secret = this.box.openText(record.sealedSecret, `client-secret:${clientId}`);
    return metadata;
  }
}
