// The portal's everyday searches that the search benchmark measures: each as the FHIR search URL
// the portal sends (with the token of the patient X it is about) and as the best hand-written
// MongoDB query returning the same documents, with the same access conditions the server adds
// for a patient's token (access/access-policy.ts): only X's compartment — which these searches of
// X's own records already ask for, through the partition key — and, on results (Observation,
// DiagnosticReport), only those released to the patient by now and final, amended or corrected
// (access/result-release.ts; the release time `rel` is stored beside each result).
// Used in-process by search-bench.ts and behind a bare HTTP server by search-baseline-server.ts.
import type { Collection, Db, Document } from 'mongodb';
import type { KeyDocument } from '../../server/src/fhir/search/key-hints.ts';
import { idsOf } from '../../server/src/fhir/search/key-compaction.ts';
import { MRN_SYSTEM, portalPerson } from './portal-data.ts';

export interface SearchScenario {
  name: string;
  /** The search, relative to the FHIR base, for benchmark patient i. */
  path(i: number): string;
  /** The hand-written query: the documents the search returns (resource, vid, ts). */
  raw(i: number): Promise<Document[]>;
}

const LOINC = 'http://loinc.org|2345-7';

/**
 * Ids (sorted) of the lookup keys starting with `prefix`: the keys the server keeps on FerretDB
 * (lookup-keys.ts), read as one range of their _id index, as a hand-written query would.
 */
export async function idsByKey(keys: Collection<KeyDocument>, prefix: string, limit = 10_000): Promise<string[]> {
  const docs = await keys.find({ _id: { $gte: prefix, $lt: `${prefix}~` } }).limit(limit).toArray();
  return [...new Set(docs.flatMap(idsOf))].sort();
}

/** The portal's searches (they read no lookup keys: the patient's token pins their one Patient). */
export function searchScenarios(db: Db, today: string): SearchScenario[] {
  // Only what a response needs (the resource, its version and time), as the server fetches it:
  // the index block `sp` is half of each stored document.
  const projection = { resource: 1, vid: 1, ts: 1 };
  const find = (type: string, filter: Document, sort?: Document, limit = 21) => {
    let c = db.collection(type).find(filter, { projection });
    if (sort) c = c.sort(sort);
    return c.limit(limit).toArray();
  };
  // A result is there for its patient once released and final, amended or corrected.
  const released = () => ({ rel: { $lte: new Date() }, 'sp.status.c': { $in: ['final', 'amended', 'corrected'] } });
  const q = encodeURIComponent;
  return [
    {
      name: 'Observation?patient=X&category=laboratory&_sort=-date&_count=50',
      path: (i) => `Observation?patient=p${i}&category=laboratory&_sort=-date&_count=50`,
      raw: (i) => find('Observation', { patient: `p${i}`, 'sp.category.c': 'laboratory', ...released() }, { 'sp.date.o': -1, _id: 1 }, 51),
    },
    {
      name: 'Observation?patient=X&code=<loinc>&_sort=date',
      path: (i) => `Observation?patient=p${i}&code=${q(LOINC)}&_sort=date`,
      raw: (i) => find('Observation', { patient: `p${i}`, 'sp.code.sc': LOINC, ...released() }, { 'sp.date.o': 1, _id: 1 }),
    },
    {
      name: 'Appointment?patient=X&date=ge<today>',
      path: (i) => `Appointment?patient=p${i}&date=ge${today}`,
      raw: (i) => find('Appointment', { patient: `p${i}`, 'sp.date.hi': { $gte: new Date(today) } }, { _id: 1 }),
    },
    {
      name: 'Communication?subject=Patient/X&_sort=-sent',
      path: (i) => `Communication?subject=Patient/p${i}&_sort=-sent`,
      raw: (i) => find('Communication', { patient: `p${i}` }, { 'sp.sent.o': -1, _id: 1 }),
    },
    {
      name: 'Invoice?subject=Patient/X&status=issued',
      path: (i) => `Invoice?subject=Patient/p${i}&status=issued`,
      raw: (i) => find('Invoice', { patient: `p${i}`, 'sp.status.c': 'issued' }, { _id: 1 }),
    },
    {
      name: 'Patient?_id=X&_revinclude=Appointment:patient',
      path: (i) => `Patient?_id=p${i}&_revinclude=Appointment:patient`,
      raw: async (i) => {
        const p = await db.collection('Patient').findOne({ _id: `p${i}` } as Document, { projection });
        return p ? [p, ...(await find('Appointment', { patient: `p${i}` }, undefined, 1000))] : [];
      },
    },
    {
      name: 'Observation?subject:Patient.identifier=<mrn system>|<MRN>&code=<loinc> (chain)',
      path: (i) => `Observation?subject:Patient.identifier=${q(`${MRN_SYSTEM}|${portalPerson(i).mrn}`)}&code=${q(LOINC)}`,
      raw: async (i) => {
        // The patient's token reaches only their own Patient, so the best hand-written lookup is
        // that Patient by _id, with the identifier condition (no identifier index or lookup keys needed).
        const { id, mrn } = portalPerson(i);
        const p = await db.collection('Patient').findOne({ _id: id, 'sp.identifier.sc': `${MRN_SYSTEM}|${mrn}` } as Document, { projection: { _id: 1 } });
        return p ? find('Observation', { patient: String(p._id), 'sp.code.sc': LOINC, ...released() }, { _id: 1 }) : [];
      },
    },
  ];
}
