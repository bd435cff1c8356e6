// MongoDB indexes for the searches the portal, staff and common clients run, patient first (the
// partition key, and the shard key on a sharded cluster). Other parameters work without an
// index; these keep the everyday ones fast on MongoDB.
//
// Staff lookups of Patients (bench/support/lookup-scenarios.ts): name, family and given are
// anchored, case-folded regular expressions on the folded values (`^rossi` on sp.name.s), which
// MongoDB answers as a range of the multikey index; phone, email, telecom and identifier are
// equalities on codes; an eq birthdate is a range on sp.birthdate.lo (compile/date-index-hint.ts)
// ahead of the exact condition. A name and a birth date together use whichever index is narrower.
// The default page is in _id order: MongoDB sorts the (few thousand, at most) matches.
//
// Note: FerretDB's SQLite backend creates these but has no multikey indexes and the local build
// pushes down only conditions on top-level fields (db/ferretdb-patches/), so on the local
// database dotted-path indexes cost writes without speeding reads; there the server narrows these
// lookups with keys of its own instead (fhir/search/key-hints.ts).
import type { Db, IndexSpecification } from 'mongodb';

type IndexTable = Record<string, Array<Record<string, 1 | -1>>>;

/** Per type: compound keys (names are derived). */
export const SEARCH_INDEXES: IndexTable = {
  Patient: [
    { 'sp.identifier.sc': 1 },
    { 'sp.identifier.c': 1 },
    { 'sp.family.s': 1 },
    { 'sp.given.s': 1 },
    { 'sp.name.s': 1 },
    { 'sp.birthdate.lo': 1 },
    { 'sp.telecom.c': 1 },
    { 'sp.telecom.sc': 1 },
    { 'sp.phone.c': 1 },
    { 'sp.email.c': 1 },
  ],
  Observation: [
    { patient: 1, 'sp.category.c': 1, 'sp.date.o': -1 },
    { patient: 1, 'sp.code.sc': 1, 'sp.date.o': 1 },
    { patient: 1, 'sp.code.c': 1, 'sp.date.o': 1 },
    { patient: 1, 'sp.date.o': -1 },
    { patients: 1 },
  ],
  Appointment: [
    { patient: 1, 'sp.date.hi': 1 },
    { patient: 1, 'sp.date.o': -1 },
    { patients: 1, 'sp.date.hi': 1 },
    { 'sp.practitioner.r': 1, 'sp.date.hi': 1 },
  ],
  MedicationRequest: [
    { patient: 1, 'sp.status.c': 1, 'sp.authoredon.o': -1 },
    { patient: 1, 'sp.authoredon.o': -1 },
  ],
  Communication: [
    { patient: 1, 'sp.sent.o': -1 },
    { patients: 1, 'sp.sent.o': -1 },
    { patient: 1, 'sp.status.c': 1 },
  ],
  Invoice: [
    { patient: 1, 'sp.status.c': 1, 'sp.date.o': -1 },
    { patient: 1, 'sp.date.o': -1 },
    { patients: 1 },
  ],
  Encounter: [{ patient: 1, 'sp.date.o': -1 }],
  Condition: [{ patient: 1, 'sp.clinical-status.c': 1 }],
  AllergyIntolerance: [{ patient: 1 }],
  Immunization: [{ patient: 1, 'sp.date.o': -1 }],
  DiagnosticReport: [{ patient: 1, 'sp.category.c': 1, 'sp.date.o': -1 }],
  Consent: [{ patient: 1, 'sp.status.c': 1 }, { 'sp.actor.r': 1 }],
  RelatedPerson: [{ patient: 1 }],
  // "Who accessed my record" (a patient's part of the trail, newest first) and the admin's views.
  AuditEvent: [{ patient: 1, 'sp.date.o': -1 }, { patients: 1 }, { 'sp.date.o': -1 }, { 'sp.agent.r': 1, 'sp.date.o': -1 }],
  Practitioner: [{ 'sp.identifier.sc': 1 }, { 'sp.name.s': 1 }],
  Organization: [{ 'sp.identifier.sc': 1 }, { 'sp.name.s': 1 }],
};

const nameOf = (key: Record<string, number>) =>
  'search_' + Object.entries(key).map(([k, d]) => `${k.replace(/^sp\./, '')}_${d}`).join('_');

/** Creates the search indexes of one type (idempotent); a no-op for types without any. */
export async function ensureSearchIndexes(db: Db, type: string): Promise<void> {
  const keys = SEARCH_INDEXES[type];
  if (!keys) return;
  const coll = db.collection(type);
  for (const key of keys) {
    await coll.createIndex(key as IndexSpecification, { name: nameOf(key) });
  }
}

/** Creates the search indexes of every type in SEARCH_INDEXES (at start-up). */
export async function ensureAllSearchIndexes(db: Db): Promise<void> {
  for (const type of Object.keys(SEARCH_INDEXES)) await ensureSearchIndexes(db, type);
}
