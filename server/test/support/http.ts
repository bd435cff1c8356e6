// Plain fetch against the FHIR API, for tests that look at status codes and headers.
import type { FhirResource, OperationOutcome } from 'fhir/r4';
import { authorizationFor } from './test-auth.ts';

export interface HttpResult<T = FhirResource> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * A request with the token of the server `url` belongs to (support/test-auth.ts), unless the
 * caller sets its own Authorization header or asks for none (`anonymous`).
 */
export async function fhirFetch<T = FhirResource>(
  url: string,
  init: { method?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string>; anonymous?: boolean } = {},
): Promise<HttpResult<T>> {
  const auth = init.anonymous || init.headers?.authorization !== undefined ? {} : await authorizationFor(url);
  const headers: Record<string, string> = { accept: 'application/fhir+json', ...auth, ...init.headers };
  let body: string | Buffer | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/fhir+json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body: body as BodyInit | undefined });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Asserts an OperationOutcome body and returns its diagnostics joined, for message checks. */
export function diagnosticsOf(result: HttpResult<unknown>): string {
  const oo = result.body as OperationOutcome;
  if (oo?.resourceType !== 'OperationOutcome') throw new Error(`expected an OperationOutcome, got ${result.text.slice(0, 200)}`);
  return oo.issue.map((i) => i.diagnostics ?? '').join(' | ');
}
