// History at instance, type and system level, newest first, keyset-paged.
// See: https://hl7.org/fhir/R4/http.html#history
import type { Bundle, BundleEntry, BundleLink } from 'fhir/r4';
import type { Document } from 'mongodb';
import { badRequest, notFound } from '../outcome.ts';
import type { AccessContext, AuditFacts, FhirRequest, FhirResponse } from '../types.ts';
import { etagOf } from './http-semantics.ts';
import { assertValidId } from './request-body.ts';
import type { FhirServices } from './services.ts';
import type { HistoryDocument } from '../repo/stored-document.ts';
import { parseFhirInstant } from './fhir-dates.ts';

interface Cursor {
  ts: Date;
  key: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.ts.getTime(), c.key])).toString('base64url');
}

function decodeCursor(token: string): Cursor {
  try {
    const [ms, key] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof ms === 'number' && Number.isFinite(ms) && typeof key === 'string' && key.length < 300) {
      return { ts: new Date(ms), key };
    }
  } catch {
    // fall through
  }
  throw badRequest('The _cursor paging token is not valid; start again from the first page', ['_cursor']);
}

/**
 * The status the interaction that made a version answered. A DELETE answers 200 with an
 * OperationOutcome (write.ts), and 204 as a transaction entry (transaction.ts), whose versions
 * carry the transaction's id.
 */
function historyStatus(h: HistoryDocument): string {
  if (h.method === 'DELETE') return h.tx ? '204' : '200';
  return h.vid === 1 && h.method !== 'PATCH' ? '201' : '200';
}

export async function history(
  services: FhirServices,
  req: FhirRequest,
  ctx: AccessContext,
  scope: { type?: string; id?: string },
): Promise<FhirResponse> {
  if (scope.id) assertValidId(scope.id);
  const { config, repo, access } = services;
  // A resource's history is read as the resource is; wider histories as access allows (or 403).
  let condition: Document | undefined;
  if (scope.type && scope.id) {
    const visible = access.restriction(ctx, scope.type, 'read');
    if (visible && !(await repo.currentDocument(scope.type, scope.id, visible))) throw notFound(`${scope.type}/${scope.id} is not known`);
  } else {
    condition = access.historyCondition(ctx, scope.type);
  }
  let count = config.defaultPageSize;
  let since: Date | undefined;
  let before: Cursor | undefined;
  for (const [name, value] of req.params) {
    if (name === '_count') {
      if (!/^\d{1,6}$/.test(value)) throw badRequest(`_count must be a whole number, got "${value.slice(0, 20)}"`, ['_count']);
      count = Math.min(Number(value), config.maxPageSize);
    } else if (name === '_since') {
      since = parseFhirInstant(value, '_since');
    } else if (name === '_cursor') {
      before = decodeCursor(value);
    }
  }
  const fhirBase = `${config.baseUrl}/fhir`;
  // One extra row tells whether there is a next page without counting.
  let rows: HistoryDocument[] = [];
  if (count > 0 && scope.type && scope.id) {
    const beforeVid = before ? Number(before.key.split('/').pop()) : undefined;
    rows = await repo.instanceHistory(scope.type, scope.id, count + 1, since, beforeVid);
  } else if (count > 0) {
    rows = await repo.historyPage({ ...scope, since, before, count: count + 1 }, condition);
  }
  const page = rows.slice(0, count);
  const entries: BundleEntry[] = page.map((h) => {
    const url = `${h.type}/${h.id}`;
    const entry: BundleEntry = {
      fullUrl: `${fhirBase}/${url}`,
      request: { method: h.method === 'PATCH' ? 'PATCH' : h.method, url: h.method === 'POST' ? h.type : url },
      response: {
        status: historyStatus(h),
        etag: etagOf(h.vid),
        lastModified: h.ts.toISOString(),
      },
    };
    if (h.resource) entry.resource = h.resource;
    return entry;
  });
  const path = [scope.type, scope.id, '_history'].filter(Boolean).join('/');
  const keep = req.params.filter(([k]) => k !== '_cursor');
  const link = (extra: Array<[string, string]>) => {
    const qs = new URLSearchParams([...keep, ...extra]).toString();
    return `${fhirBase}/${path}${qs ? `?${qs}` : ''}`;
  };
  const links: BundleLink[] = [{ relation: 'self', url: link(before ? [['_cursor', encodeCursor(before)]] : []) }];
  if (rows.length > count && page.length > 0) {
    const last = page[page.length - 1];
    links.push({ relation: 'next', url: link([['_cursor', encodeCursor({ ts: last.ts, key: last._id })]]) });
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'history', link: links, entry: entries };
  if (scope.type && scope.id && !since) bundle.total = await repo.countVersions(scope.type, scope.id);
  else if (count === 0) bundle.total = await repo.countHistory({ ...scope, since }, condition);
  // For the audit trail: whose records the page showed (a version carries its first patient).
  const patients = [...new Set(page.map((h) => h.patient).filter((p): p is string => Boolean(p)))];
  const audit: AuditFacts = scope.type && scope.id ? { resources: [{ reference: `${scope.type}/${scope.id}`, patients }] } : { patients };
  return { status: 200, body: bundle, audit };
}
