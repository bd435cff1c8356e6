// The lookups staff run all day (a patient by name, given name, birth date, MRN, phone, name and
// birth date), as FHIR search URLs and as the best hand-written query returning the same page of
// Patients (the first 20 in _id order, the server's default page). Used by search-bench.ts
// (--set lookups) and its baseline server; the data is lookup-patients.ts.
//
// The hand-written queries: on MongoDB, the plain conditions, which its (multikey) indexes answer
// (search-indexes.ts); on FerretDB, which has no multikey index, the lookup keys the server keeps
// (lookup-keys.ts) read as one range of their _id index, then the Patients among those ids a chunk
// at a time in _id order until the page is full, with the exact condition.
import type { Collection, Db, Document } from 'mongodb';
import type { KeyDocument } from '../../server/src/fhir/search/key-hints.ts';
import { keyValue } from '../../server/src/fhir/search/lookup-keys.ts';
import { escapeRegex, foldString } from '../../server/src/fhir/search/fold.ts';
import { idsByKey, type SearchScenario } from './search-scenarios.ts';
import { commonFamily, lookupTarget, MRN_SYSTEM, rareFamily, RARE_NAMES, someGiven } from './lookup-patients.ts';
import { FAMILY_NAMES, GIVEN_NAMES } from '../../seed-data/pools.ts';

const PAGE = 20;
const DAY_MS = 86400000;

export function lookupScenarios(db: Db, keys?: Collection<KeyDocument>): SearchScenario[] {
  const projection = { resource: 1, vid: 1, ts: 1 };
  const patients = db.collection<{ _id: string }>('Patient');
  /** The first page, in _id order, of the Patients matching `filter`, among `ids` (sorted) when given. */
  const page = async (filter: Document, ids?: string[]): Promise<Document[]> => {
    if (!ids) return patients.find(filter, { projection }).sort({ _id: 1 }).limit(PAGE).toArray();
    const out: Document[] = [];
    for (let next = 0, size = PAGE + 1; next < ids.length && out.length < PAGE; size = Math.min(500, size * 4)) {
      const chunk = ids.slice(next, next + size);
      next += chunk.length;
      const docs = await patients.find({ ...filter, _id: { $in: chunk } }, { projection }).sort({ _id: 1 }).limit(PAGE - out.length).toArray();
      out.push(...docs);
    }
    return out;
  };
  const keyed = (prefix: string) => (keys ? idsByKey(keys, prefix) : Promise.resolve(undefined));
  const startsWith = (field: string, text: string) => ({ [field]: { $regex: `^${escapeRegex(foldString(text))}` } });
  const nameKey = (text: string) => `Patient.name ${keyValue(foldString(text))}`;
  const onDay = (day: string) => ({
    'sp.birthdate.lo': { $gte: new Date(`${day}T00:00:00Z`) },
    'sp.birthdate.hi': { $lte: new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS - 1) },
  });
  const q = encodeURIComponent;
  const byName = (text: (i: number) => string, field = 'sp.name.s') => async (i: number) => page(startsWith(field, text(i)), await keyed(nameKey(text(i))));
  const prefix = (i: number) => commonFamily(i).slice(0, 3);
  const rare = (i: number) => rareFamily(i % RARE_NAMES);
  return [
    { name: 'Patient?name=<common family>', path: (i) => `Patient?name=${q(commonFamily(i))}`, raw: byName(commonFamily) },
    { name: 'Patient?name=<rare family>', path: (i) => `Patient?name=${q(rare(i))}`, raw: byName(rare) },
    { name: 'Patient?name=<first 3 letters>', path: (i) => `Patient?name=${q(prefix(i))}`, raw: byName(prefix) },
    { name: 'Patient?given=<given name>', path: (i) => `Patient?given=${q(someGiven(i))}`, raw: byName(someGiven, 'sp.given.s') },
    {
      name: 'Patient?birthdate=<day>',
      path: (i) => `Patient?birthdate=${lookupTarget(i).birthDate}`,
      raw: async (i) => page(onDay(lookupTarget(i).birthDate), await keyed(`Patient.birthdate ${lookupTarget(i).birthDate}`)),
    },
    {
      name: 'Patient?identifier=<mrn system>|<MRN>',
      path: (i) => `Patient?identifier=${q(`${MRN_SYSTEM}|${lookupTarget(i).mrn}`)}`,
      raw: async (i) => {
        const { mrn } = lookupTarget(i);
        return page({ 'sp.identifier.sc': `${MRN_SYSTEM}|${mrn}` }, await keyed(`Patient.identifier ${keyValue(mrn)} `));
      },
    },
    {
      name: 'Patient?phone=<number>',
      path: (i) => `Patient?phone=${q(lookupTarget(i).phone ?? '(100) 555-0000')}`,
      raw: async (i) => {
        const phone = lookupTarget(i).phone ?? '(100) 555-0000';
        return page({ 'sp.phone.c': phone }, await keyed(`Patient.telecom ${keyValue(phone)} `));
      },
    },
    {
      name: 'Patient?name=<family>&birthdate=<day>',
      path: (i) => `Patient?name=${q(lookupTarget(i).family)}&birthdate=${lookupTarget(i).birthDate}`,
      raw: async (i) => {
        const { family, birthDate } = lookupTarget(i);
        return page({ ...startsWith('sp.name.s', family), ...onDay(birthDate) }, await keyed(`Patient.birthdate ${birthDate}`));
      },
    },
  ];
}

/** The name keys of the common names and their first three letters (what the searches above read most). */
export function lookupKeyPrefixes(): string[] {
  const words = [...FAMILY_NAMES, ...GIVEN_NAMES.female, ...GIVEN_NAMES.male];
  return [...new Set([...words, ...FAMILY_NAMES.map((f) => f.slice(0, 3))].map((w) => `Patient.name ${keyValue(foldString(w))}`))];
}
