// Bulk Data export from a test's point of view: backend clients with their own scopes and tokens
// (client_credentials through openid-client, as an integrator gets them), kick-off, polling the
// status URL as Retry-After says, and downloading the files of a manifest.
import * as oidc from 'openid-client';
import type { FhirResource } from 'fhir/r4';
import type { RunningServer } from '../../src/server.ts';
import { backendConfiguration, registerBackendClient, type BackendCredentials } from './test-auth.ts';

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: string; url: string; count: number }>;
}

export interface BulkClient {
  credentials: BackendCredentials;
  token: string;
  headers(extra?: Record<string, string>): Record<string, string>;
}

/** A backend client registered on `server` with `scope`, and a token for it. */
export async function bulkClient(server: RunningServer, baseUrl: string, scope: string, group?: string): Promise<BulkClient> {
  const credentials = await registerBackendClient(server.auth.services.clients, { scope, name: 'Bulk test integrator', group });
  const tokens = await oidc.clientCredentialsGrant(await backendConfiguration(baseUrl, credentials), { scope });
  const token = tokens.access_token;
  return {
    credentials,
    token,
    headers: (extra = {}) => ({ authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async', ...extra }),
  };
}

/** Kick-off by GET; returns the response (202 with Content-Location when accepted). */
export function kickOff(url: string, client: BulkClient, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers: client.headers(headers) });
}

/** Polls the status URL until the export is done (as Retry-After asks, at most `timeoutMs`). */
export async function waitForManifest(statusUrl: string, client: BulkClient, timeoutMs = 60_000): Promise<{ res: Response; manifest: Manifest }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(statusUrl, { headers: { authorization: `Bearer ${client.token}` } });
    if (res.status === 200) return { res, manifest: (await res.json()) as Manifest };
    if (res.status !== 202) throw new Error(`status ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    if (Date.now() > deadline) throw new Error('the export did not finish in time');
    const wait = Number(res.headers.get('retry-after') ?? '1') * 1000;
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** The resources of one NDJSON file. */
export async function download(url: string, client: BulkClient, headers: Record<string, string> = {}): Promise<{ res: Response; text: string; resources: FhirResource[] }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${client.token}`, ...headers } });
  const text = await res.text();
  const resources = res.status === 200 ? text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as FhirResource) : [];
  return { res, text, resources };
}

/** Every resource of a manifest, by type. */
export async function exported(manifest: Manifest, client: BulkClient): Promise<Map<string, FhirResource[]>> {
  const byType = new Map<string, FhirResource[]>();
  for (const o of manifest.output) {
    const { resources } = await download(o.url, client);
    if (resources.length !== o.count) throw new Error(`${o.url}: ${resources.length} lines, manifest says ${o.count}`);
    byType.set(o.type, [...(byType.get(o.type) ?? []), ...resources]);
  }
  return byType;
}
