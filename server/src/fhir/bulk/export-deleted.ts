// deleted[] of a _since export: the resources of the exported types that were deleted after _since
// and were still deleted at transactionTime, one transaction Bundle with a DELETE entry per line.
// Read from the version history (deletion tombstones), newest first, keyset-paged like history.
// See: https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status (deleted)
import type { Bundle } from 'fhir/r4';
import type { Document } from 'mongodb';
import { and } from '../search/compile/compile-criteria.ts';
import { HISTORY_COLLECTION, type HistoryDocument } from '../repo/stored-document.ts';
import type { FhirServices } from '../router/services.ts';
import type { AccessContext } from '../types.ts';
import type { ExportJobDocument } from './export-job.ts';

export interface DeletedPage {
  lines: string[];
  /** Position after this page (absent: no more). */
  next?: string;
}

/** Which tombstones the client may learn of: per type, as its history access allows (none when it may not). */
function accessCondition(services: FhirServices, ctx: AccessContext, types: string[]): Document | undefined {
  const branches: Document[] = [];
  for (const type of types) {
    try {
      const condition = services.access.historyCondition(ctx, type);
      branches.push(condition ? { type, ...condition } : { type });
    } catch {
      // Granular scopes and the like: a tombstone carries no search values to check them against.
    }
  }
  return branches.length === 0 ? { _id: { $in: [] } } : { $or: branches };
}

function patientsCondition(patients: ExportJobDocument['parameters']['patients']): Document | undefined {
  if (patients === undefined) return undefined;
  return patients === 'any' ? { patient: { $exists: true } } : { patient: { $in: patients } };
}

export async function deletedPage(services: FhirServices, ctx: AccessContext, job: ExportJobDocument, cursor: string | undefined, count: number): Promise<DeletedPage> {
  const p = job.parameters;
  const until = p.until && p.until < job.transactionTime ? p.until : job.transactionTime;
  const before = cursor ? (JSON.parse(cursor) as { ts: number; key: string }) : undefined;
  const condition = and([{ method: 'DELETE' }, { ts: { $lte: until } }, accessCondition(services, ctx, p.types), patientsCondition(p.patients)]);
  const rows = await services.repo.historyPage({ since: p.since, before: before && { ts: new Date(before.ts), key: before.key }, count: count + 1 }, condition);
  const page = rows.slice(0, count);
  // A resource created again (or deleted again) by transactionTime has a later version: not listed here.
  const history = services.repo.db.collection<HistoryDocument>(HISTORY_COLLECTION);
  const lines: string[] = [];
  for (const t of page) {
    const later = await history.findOne({ type: t.type, id: t.id, vid: { $gt: t.vid }, ts: { $lte: until } }, { projection: { _id: 1 } });
    if (later) continue;
    const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `${t.type}/${t.id}` } }] };
    lines.push(JSON.stringify(bundle));
  }
  const last = page[page.length - 1];
  return { lines, next: rows.length > count && last ? JSON.stringify({ ts: last.ts.getTime(), key: last._id }) : undefined };
}
