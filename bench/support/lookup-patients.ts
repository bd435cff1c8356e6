// The patients of the lookup benchmark: the seed generator's Patients (seed-data/: US Core
// shaped, names from its pools, birth dates spread over ages 0–90, MRNs), with two changes so
// that lookups meet the distributions a real clinic has at 100,000 patients:
//   - family names: the seed draws every patient's from 40 common names (about 2,500 patients
//     each at 100,000: the "Rossi" case). Real lists also have a long tail, so every 10th patient
//     gets one of 5,000 rarer names instead (about two patients each);
//   - phone numbers: the seed uses the 100 numbers of the fictional 555-01xx block (about 780
//     adults share each at 100,000), so every patient with a phone gets a number of their own.
// Everything is a function of the patient's index, so the benchmark and its baseline server
// (another process) know each patient's values without sharing state.
import type { Patient } from 'fhir/r4';
import { SeedGenerator } from '../../seed-data/generator.ts';
import { FAMILY_NAMES, GIVEN_NAMES } from '../../seed-data/pools.ts';
import { IDENTIFIER } from '../../seed-data/fhir-codes.ts';

const SYLLABLES = ['ka', 'ri', 'mo', 'len', 'sa', 'to', 'vi', 'nor', 'el', 'du', 'ba', 'fe', 'gor', 'hil', 'ja', 'kos', 'lun', 'mer', 'ni', 'pav'];
export const RARE_NAMES = 5000;
/** Every RARE_EVERY-th patient has a rare family name. */
const RARE_EVERY = 10;

export const MRN_SYSTEM = IDENTIFIER.mrn;

/** Rare family name k (0 ≤ k < RARE_NAMES): three syllables, e.g. "Karimo". */
export function rareFamily(k: number): string {
  const s = [k % 20, Math.floor(k / 20) % 20, Math.floor(k / 400) % 20].map((n) => SYLLABLES[n]).join('');
  return s[0].toUpperCase() + s.slice(1);
}

/** A phone number of patient i's own: (2xx–9xx) 555-xxxx. */
export function phoneOf(i: number): string {
  return `(${200 + (i % 800)}) 555-${String(Math.floor(i / 800)).padStart(4, '0')}`;
}

/** A common family name (one of the seed's 40), for lookup i. */
export const commonFamily = (i: number): string => FAMILY_NAMES[i % FAMILY_NAMES.length];
/** A given name of the seed's pools, for lookup i. */
export const someGiven = (i: number): string => {
  const pool = i % 2 ? GIVEN_NAMES.female : GIVEN_NAMES.male;
  return pool[Math.floor(i / 2) % pool.length];
};

const generator = new SeedGenerator();

/** Patient i as loaded. */
export function lookupPatient(i: number): Patient & { id: string } {
  const p = generator.patient(i);
  const name = p.name?.[0];
  if (name && i % RARE_EVERY === RARE_EVERY - 1) {
    const family = rareFamily((i * 7919) % RARE_NAMES);
    name.family = family;
    name.text = [...(name.given ?? []), family].join(' ');
  }
  for (const t of p.telecom ?? []) if (t.system === 'phone') t.value = phoneOf(i);
  return p;
}

/** The first `count` lookup patients, lazily. */
export function* lookupPatients(count: number): Generator<Patient & { id: string }> {
  for (let i = 0; i < count; i++) yield lookupPatient(i);
}

export interface LookupTarget {
  family: string;
  birthDate: string;
  mrn: string;
  /** Undefined for children: the seed gives them no phone of their own. */
  phone?: string;
}

const targets = new Map<number, LookupTarget>();

/** What staff would type to find patient i (memoized: the load generator asks per request). */
export function lookupTarget(i: number): LookupTarget {
  let t = targets.get(i);
  if (!t) {
    const p = lookupPatient(i);
    t = {
      family: p.name?.[0]?.family ?? '',
      birthDate: p.birthDate ?? '',
      mrn: p.identifier?.find((x) => x.system === MRN_SYSTEM)?.value ?? '',
      phone: p.telecom?.find((x) => x.system === 'phone')?.value,
    };
    targets.set(i, t);
  }
  return t;
}
