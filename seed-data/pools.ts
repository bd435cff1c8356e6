// Pools of names, streets and towns for synthetic people. All invented combinations; phone
// numbers use the 555-01xx block reserved for fiction and e-mail uses example.org.
import type { Address, ContactPoint, HumanName } from 'fhir/r4';
import type { Random } from './random.ts';

export type Sex = 'male' | 'female';

export const GIVEN_NAMES: Record<Sex, readonly string[]> = {
  female: [
    'Maria', 'Aisha', 'Emily', 'Sofia', 'Grace', 'Mei', 'Olivia', 'Fatima', 'Hannah', 'Priya',
    'Chloe', 'Amara', 'Lucia', 'Nora', 'Yuki', 'Isabel', 'Leila', 'Ruth', 'Camila', 'Ingrid',
    'Zara', 'Helen', 'Ana', 'Keiko', 'Margaret', 'Elena', 'Nia', 'Rosa', 'Julia', 'Dorothy',
  ],
  male: [
    'James', 'Mohammed', 'Liam', 'Carlos', 'Wei', 'Daniel', 'Kwame', 'Noah', 'Arjun', 'Lucas',
    'Samuel', 'Hiroshi', 'David', 'Mateo', 'Omar', 'Thomas', 'Andre', 'Ravi', 'Peter', 'Elijah',
    'Jonas', 'Felix', 'Marcus', 'Diego', 'Ivan', 'George', 'Tariq', 'Kofi', 'Henry', 'Walter',
  ],
};

export const FAMILY_NAMES: readonly string[] = [
  'Garcia', 'Nguyen', 'Smith', 'Okafor', 'Patel', 'Kim', 'Johnson', 'Hernandez', 'Chen', 'Novak',
  'Williams', 'Haddad', 'Brown', 'Rossi', 'Tanaka', 'Mensah', 'Kowalski', 'Lopez', 'Singh', 'Murphy',
  'Andersen', 'Cohen', 'Ramirez', 'Yamamoto', 'Dubois', 'Ali', 'Martin', 'Osei', 'Fischer', 'Reyes',
  'Park', 'Silva', 'Walker', 'Ivanova', 'Schmidt', 'Nakamura', 'Adeyemi', 'Bianchi', 'Larsen', 'Castillo',
];

const STREETS: readonly string[] = [
  'Alder St', 'Birch Ave', 'Cedar Ln', 'Division St', 'Elm Ct', 'Fremont Ave', 'Glisan St',
  'Hawthorne Blvd', 'Irving St', 'Juniper Way', 'Kelly Ave', 'Lovejoy St', 'Morrison St',
  'Northrup St', 'Oak Grove Rd', 'Powell Blvd', 'Quimby St', 'Raleigh St', 'Sandy Blvd',
  'Taylor Ferry Rd', 'Umatilla St', 'Vista Ave', 'Willow Ln', 'Yamhill St',
];

/** Towns around the clinic's campuses, with a plausible ZIP prefix for each. */
export const TOWNS: ReadonlyArray<{ city: string; zip: string }> = [
  { city: 'Portland', zip: '972' },
  { city: 'Beaverton', zip: '970' },
  { city: 'Hillsboro', zip: '971' },
  { city: 'Gresham', zip: '970' },
  { city: 'Tigard', zip: '972' },
  { city: 'Lake Oswego', zip: '970' },
  { city: 'Milwaukie', zip: '972' },
];

export const STATE = 'OR';

export function personName(rng: Random, sex: Sex, family?: string): HumanName {
  // Sometimes a middle name; sample() keeps it different from the first name.
  const given = rng.sample(GIVEN_NAMES[sex], rng.chance(0.4) ? 2 : 1);
  const familyName = family ?? rng.pick(FAMILY_NAMES);
  return { use: 'official', text: `${given.join(' ')} ${familyName}`, family: familyName, given };
}

export function homeAddress(rng: Random, since?: string): Address {
  const town = rng.pick(TOWNS);
  const address: Address = {
    use: 'home',
    type: 'physical',
    line: [`${rng.int(100, 9899)} ${rng.pick(STREETS)}`],
    city: town.city,
    state: STATE,
    postalCode: `${town.zip}${String(rng.int(1, 99)).padStart(2, '0')}`,
    country: 'US',
  };
  if (rng.chance(0.25)) address.line!.push(`Apt ${rng.int(1, 40)}`);
  if (since) address.period = { start: since };
  return address;
}

/** A fictional phone number: (503) 555-01xx. */
export function phoneNumber(rng: Random): string {
  return `(503) 555-01${String(rng.int(0, 99)).padStart(2, '0')}`;
}

export function email(name: HumanName, rng: Random): string {
  const given = (name.given?.[0] ?? 'user').toLowerCase();
  const family = (name.family ?? 'person').toLowerCase().replace(/[^a-z]/g, '');
  return `${given}.${family}${rng.int(1, 99)}@example.org`;
}

export function personTelecom(rng: Random, name: HumanName): ContactPoint[] {
  return [
    { system: 'phone', value: phoneNumber(rng), use: 'mobile', rank: 1 },
    { system: 'email', value: email(name, rng), use: 'home' },
  ];
}
