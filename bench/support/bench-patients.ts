// Patients the REST, audit and token-check benchmarks send: US Core shaped (profile claim,
// race/ethnicity/birth-sex extensions, MRN identifier, name, telecom, address), about 2 KB of JSON
// each, deterministic per index so every run sends the same bodies; and seeding them through the API.
import type { Patient } from 'fhir/r4';

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';
const GIVEN = ['Andre', 'Keiko', 'Mateo', 'Ingrid', 'Ravi', 'Sofia', 'Peter', 'Emily', 'Nia', 'Carlos', 'Mei', 'Felix'];
const FAMILY = ['Larsen', 'Mensah', 'Garcia', 'Ramirez', 'Novak', 'Martin', 'Cohen', 'Nguyen', 'Okafor', 'Schmidt'];
const STREETS = ['Willow Ln', 'Oak St', 'Maple Ave', 'Cedar Ct', 'Birch Rd', 'Elm Way'];
const CITIES: Array<[string, string]> = [['Tigard', '97223'], ['Portland', '97205'], ['Beaverton', '97005'], ['Salem', '97301']];
const RACES: Array<[string, string]> = [['2028-9', 'Asian'], ['2106-3', 'White'], ['2054-5', 'Black or African American']];

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length];

/** The i-th benchmark patient; with an id when it is meant for an update. */
export function benchPatient(i: number, id?: string): Patient {
  const given = pick(GIVEN, i);
  const family = pick(FAMILY, Math.floor(i / GIVEN.length));
  const [race, raceText] = pick(RACES, i);
  const [city, zip] = pick(CITIES, i);
  const male = i % 2 === 0;
  return {
    resourceType: 'Patient',
    ...(id ? { id } : {}),
    meta: { profile: [`${US_CORE}/us-core-patient`] },
    extension: [
      {
        url: `${US_CORE}/us-core-race`,
        extension: [
          { url: 'ombCategory', valueCoding: { system: 'urn:oid:2.16.840.1.113883.6.238', code: race, display: raceText } },
          { url: 'text', valueString: raceText },
        ],
      },
      {
        url: `${US_CORE}/us-core-ethnicity`,
        extension: [
          { url: 'ombCategory', valueCoding: { system: 'urn:oid:2.16.840.1.113883.6.238', code: '2186-5', display: 'Not Hispanic or Latino' } },
          { url: 'text', valueString: 'Not Hispanic or Latino' },
        ],
      },
      { url: `${US_CORE}/us-core-birthsex`, valueCode: male ? 'M' : 'F' },
    ],
    identifier: [
      {
        use: 'usual',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }], text: 'MRN' },
        system: 'https://health-records.dev/fhir/sid/mrn',
        value: String(690000000 + i),
      },
    ],
    active: true,
    name: [{ use: 'official', text: `${given} ${family}`, family, given: [given] }],
    telecom: [
      { system: 'phone', value: `(503) 555-${String(1000 + (i % 9000)).padStart(4, '0')}`, use: 'mobile', rank: 1 },
      { system: 'email', value: `${given.toLowerCase()}.${family.toLowerCase()}${i}@example.org`, use: 'home' },
    ],
    gender: male ? 'male' : 'female',
    birthDate: `${1940 + (i % 70)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
    address: [
      {
        use: 'home',
        type: 'physical',
        line: [`${100 + (i % 900)} ${pick(STREETS, i)}`],
        city,
        state: 'OR',
        postalCode: zip,
        country: 'US',
        period: { start: '2022-11-16' },
      },
    ],
    maritalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Married' }],
      text: 'Married',
    },
    communication: [
      {
        language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-US', display: 'English (United States)' }], text: 'English' },
        preferred: true,
      },
    ],
  };
}

/** Creates benchmark patients offset … offset + count - 1 through the FHIR API (10 at a time); returns their ids. */
export async function seedPatients(fhirUrl: string, token: string, count: number, offset = 0): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await fetch(`${fhirUrl}/Patient`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', authorization: `Bearer ${token}` },
        body: JSON.stringify(benchPatient(offset + i)),
      });
      if (res.status !== 201) throw new Error(`seeding a Patient answered ${res.status}: ${await res.text()}`);
      ids.push(res.headers.get('location')!.split('/Patient/')[1].split('/')[0]);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return ids;
}
