// One Bulk Data export from the client's side: kick-off, polling the status URL with backoff
// (as Retry-After says, at least a second, growing while nothing changes), and the manifest.
// See: https://hl7.org/fhir/uv/bulkdata/export.html
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count?: number }>;
  error: Array<{ type: string; url: string; count?: number }>;
  deleted?: Array<{ type: string; url: string; count?: number }>;
}

export interface ExportRequest {
  fhirBase: string;
  types?: string[];
  since?: string;
  group?: string;
  /** Patient-level export (all patients) rather than system level. */
  patients?: boolean;
}

export type Token = () => Promise<string>;

async function outcomeText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const oo = JSON.parse(text) as { issue?: Array<{ diagnostics?: string; code?: string }> };
    if (oo.issue) return oo.issue.map((i) => i.diagnostics ?? i.code).join('; ');
  } catch {
    // not JSON
  }
  return text.slice(0, 300);
}

/** Starts the export; returns its status URL. */
export async function kickOff(r: ExportRequest, token: Token): Promise<string> {
  const path = r.group ? `Group/${encodeURIComponent(r.group)}/$export` : r.patients ? 'Patient/$export' : '$export';
  const query = new URLSearchParams();
  if (r.types?.length) query.set('_type', r.types.join(','));
  if (r.since) query.set('_since', r.since);
  const url = `${r.fhirBase}/${path}${query.size ? `?${query}` : ''}`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${await token()}`, accept: 'application/fhir+json', prefer: 'respond-async' } });
  if (res.status !== 202) throw new Error(`kick-off answered ${res.status}: ${await outcomeText(res)}`);
  const location = res.headers.get('content-location');
  if (!location) throw new Error('kick-off answered 202 without a Content-Location');
  await res.arrayBuffer();
  return new URL(location, url).toString();
}

/** Polls until the export is done; `progress` gets each X-Progress. */
export async function waitForManifest(statusUrl: string, token: Token, progress: (text: string) => void, maxWaitMs = 24 * 3_600_000): Promise<Manifest> {
  const deadline = Date.now() + maxWaitMs;
  let backoff = 1_000;
  let last = '';
  for (;;) {
    const res = await fetch(statusUrl, { headers: { authorization: `Bearer ${await token()}`, accept: 'application/json' } });
    if (res.status === 200) return (await res.json()) as Manifest;
    if (res.status !== 202 && res.status !== 429) throw new Error(`status answered ${res.status}: ${await outcomeText(res)}`);
    await res.arrayBuffer();
    const now = res.headers.get('x-progress') ?? '';
    if (now !== last) {
      progress(now);
      backoff = 1_000;
    } else {
      backoff = Math.min(backoff * 1.5, 60_000);
    }
    last = now;
    const retryAfter = Number(res.headers.get('retry-after'));
    const wait = Math.max(Number.isFinite(retryAfter) ? retryAfter * 1000 : 0, backoff);
    if (Date.now() + wait > deadline) throw new Error('the export did not finish in time');
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Cancels the export (used when the client is interrupted before it finishes). */
export async function cancel(statusUrl: string, token: Token): Promise<void> {
  await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${await token()}` } });
}
