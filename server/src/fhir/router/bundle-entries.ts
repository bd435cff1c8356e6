// Reading the entries of a batch or transaction Bundle into FhirRequests, and writing their
// results back as response entries. See: https://hl7.org/fhir/R4/http.html#transaction
import type { Bundle, BundleEntry, BundleEntryResponse, FhirResource as Resource } from 'fhir/r4';
import { decodeUtf8, parseFaithfulJson } from '../json/faithful-json.ts';
import { DEEPEST_STORABLE_JSON } from '../json/nesting-depth.ts';
import { isDatabaseUnavailable } from '../../db/database-unavailable.ts';
import { badRequest, databaseUnavailable, OperationOutcomeError, outcome, issue } from '../outcome.ts';
import { decodeQueryParams, decodeRequestPath } from '../request-url.ts';
import type { FhirMethod, FhirRequest, FhirResponse } from '../types.ts';

const METHODS: FhirMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** entry.request's elements that stand for HTTP headers of the entry's request. */
const CONDITIONAL_HEADERS = [
  ['ifMatch', 'if-match'],
  ['ifNoneExist', 'if-none-exist'],
  ['ifNoneMatch', 'if-none-match'],
  ['ifModifiedSince', 'if-modified-since'],
] as const;

export interface ParsedEntry {
  index: number;
  fullUrl?: string;
  request: FhirRequest;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const statusLine = (status: number) => `${status}${REASONS[status] ? ` ${REASONS[status]}` : ''}`;

/** Checks the Bundle's shape and returns it typed; a 400 says what is wrong. */
export function bundleFromBody(body: unknown, maxEntries: number): Bundle {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('POST to the base needs a Bundle of type batch or transaction');
  }
  const bundle = body as Bundle;
  if (bundle.resourceType !== 'Bundle') throw badRequest('POST to the base needs a Bundle resource', ['resourceType']);
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest(`Bundle.type must be batch or transaction, got "${String(bundle.type).slice(0, 40)}"`, ['Bundle.type']);
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw badRequest('Bundle.entry must be an array', ['Bundle.entry']);
  if ((bundle.entry?.length ?? 0) > maxEntries) {
    throw new OperationOutcomeError(413, [
      issue('error', 'too-costly', `The Bundle has ${bundle.entry?.length} entries; at most ${maxEntries} are accepted`),
    ]);
  }
  return bundle;
}

/** Turns entry.request (+ resource) into the FhirRequest a direct call would have made. */
export function parseEntry(entry: BundleEntry, index: number, fhirBase: string): ParsedEntry {
  const where = `Bundle.entry[${index}]`;
  if (typeof entry !== 'object' || entry === null) throw badRequest(`${where} is not an object`, [where]);
  const req = entry.request;
  if (!req || typeof req !== 'object') throw badRequest(`${where}.request is required`, [`${where}.request`]);
  const method = typeof req.method === 'string' ? (req.method.toUpperCase() as FhirMethod) : undefined;
  if (!method || !METHODS.includes(method)) throw badRequest(`${where}.request.method is not a known HTTP method`, [`${where}.request.method`]);
  if (typeof req.url !== 'string' || req.url === '') throw badRequest(`${where}.request.url is required`, [`${where}.request.url`]);
  let url = req.url;
  if (url.startsWith(`${fhirBase}/`)) url = url.slice(fhirBase.length + 1);
  else if (/^[a-z]+:\/\//i.test(url)) throw badRequest(`${where}.request.url must be relative to this server`, [`${where}.request.url`]);
  url = url.replace(/^\/+/, '');
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  const params = q >= 0 ? decodeQueryParams(url.slice(q + 1), `${where}.request.url`) : [];
  const headers: FhirRequest['headers'] = {};
  for (const [field, header] of CONDITIONAL_HEADERS) {
    const value: unknown = req[field];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') throw badRequest(`${where}.request.${field} must be a string`, [`${where}.request.${field}`]);
    headers[header] = value;
  }
  const request: FhirRequest = { method, path: decodeRequestPath(path, `${where}.request.url`), params, headers };
  if (entry.resource !== undefined) {
    request.body = entry.resource;
    // A PATCH entry carries its patch as a Binary (R4 http.html#patch); FHIRPath Patch is not supported.
    if (method === 'PATCH') request.body = patchFromBinary(entry.resource as Resource, where);
    request.contentType = method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json';
  }
  return { index, fullUrl: typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined, request };
}

/**
 * The JSON Patch a PATCH entry carries in a Binary, read with the checks a request body gets
 * (faithful-json.ts). Its nesting is held to what can be stored at all, which keeps the code that
 * applies it safe; the patched resource then meets the configured limit when it is validated.
 */
function patchFromBinary(resource: Resource | null, where: string): unknown {
  if (typeof resource !== 'object' || resource === null || resource.resourceType !== 'Binary' || typeof resource.data !== 'string') {
    throw badRequest(`${where}: a PATCH entry carries a JSON Patch as a Binary resource with base64 data`, [`${where}.resource`]);
  }
  const source = { subject: `${where}: the JSON Patch in the Binary`, expression: `${where}.resource.data` };
  return parseFaithfulJson(decodeUtf8(Buffer.from(resource.data, 'base64'), source), DEEPEST_STORABLE_JSON, source);
}

/** A response entry from an interaction's response. */
export function responseEntry(res: FhirResponse, fullUrl?: string): BundleEntry {
  const response: BundleEntryResponse = { status: statusLine(res.status) };
  if (res.headers?.Location) response.location = res.headers.Location;
  if (res.headers?.ETag) response.etag = res.headers.ETag;
  if (res.headers?.['Last-Modified']) response.lastModified = new Date(res.headers['Last-Modified']).toISOString();
  const entry: BundleEntry = { response };
  if (fullUrl) entry.fullUrl = fullUrl;
  if (res.body) {
    if (res.body.resourceType === 'OperationOutcome' && res.status >= 400) response.outcome = res.body;
    else entry.resource = res.body;
  }
  return entry;
}

/** A response entry for an error thrown while processing one batch entry. */
export function errorEntry(err: unknown): BundleEntry {
  if (isDatabaseUnavailable(err)) err = databaseUnavailable();
  if (err instanceof OperationOutcomeError) {
    return { response: { status: statusLine(err.status), outcome: err.outcome } };
  }
  return {
    response: {
      status: statusLine(500),
      outcome: outcome([issue('fatal', 'exception', 'The entry could not be processed because of an internal error')]),
    },
  };
}

/** Prefixes issue locations with the entry they belong to, so a client can find them. */
export function inEntry(err: unknown, index: number): unknown {
  if (!(err instanceof OperationOutcomeError)) return err;
  const where = `Bundle.entry[${index}]`;
  const issues = err.outcome.issue.map((i) => ({
    ...i,
    diagnostics: `${where}: ${i.diagnostics ?? i.code}`,
    expression: i.expression?.map((e) => (e.startsWith('Bundle.') ? e : `${where}.resource.${e}`)) ?? [where],
  }));
  return new OperationOutcomeError(err.status, issues);
}
