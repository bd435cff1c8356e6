// The clinic's shared directory: one Organization with departments (child Organizations),
// campuses (Locations) and staff (Practitioner + PractitionerRole). It goes into its own
// transaction bundle, loaded before any patient bundle; patient resources point at it with
// plain relative references ("Practitioner/<id>") because it lives outside their bundles.
import type { FhirResource, Location, Organization, Practitioner, PractitionerRole, Reference } from 'fhir/r4';
import { IdFactory } from './ids.ts';
import { IDENTIFIER, PROFILE, SYSTEM, concept, coding } from './fhir-codes.ts';
import { FAMILY_NAMES, GIVEN_NAMES, type Sex, STATE } from './pools.ts';
import { Random } from './random.ts';

export type DepartmentKey =
  | 'family-medicine'
  | 'internal-medicine'
  | 'pediatrics'
  | 'endocrinology'
  | 'cardiology'
  | 'laboratory'
  | 'billing';

export interface Department {
  key: DepartmentKey;
  id: string;
  name: string;
  reference: Reference;
}

export interface Campus {
  id: string;
  name: string;
  reference: Reference;
}

export type StaffKind = 'physician' | 'nurse-practitioner' | 'nurse';

export interface StaffMember {
  practitionerId: string;
  roleId: string;
  kind: StaffKind;
  department: DepartmentKey;
  campus: Campus;
  /** "Dr. Ana Reyes" or "Ana Reyes, RN": how the portal shows the sender of a message. */
  display: string;
  reference: Reference;
  roleReference: Reference;
}

export interface ClinicDirectory {
  organization: Reference & { reference: string; display: string };
  departments: Department[];
  campuses: Campus[];
  staff: StaffMember[];
  resources: FhirResource[];
}

export const CLINIC_NAME = 'Riverbend Health';

const DEPARTMENTS: ReadonlyArray<{ key: DepartmentKey; name: string }> = [
  { key: 'family-medicine', name: 'Family Medicine' },
  { key: 'internal-medicine', name: 'Internal Medicine' },
  { key: 'pediatrics', name: 'Pediatrics' },
  { key: 'endocrinology', name: 'Endocrinology' },
  { key: 'cardiology', name: 'Cardiology' },
  { key: 'laboratory', name: 'Laboratory' },
  { key: 'billing', name: 'Patient Financial Services' },
];

const CAMPUSES: ReadonlyArray<{ key: string; name: string; line: string; city: string; zip: string }> = [
  { key: 'downtown', name: 'Downtown Campus', line: '1200 SW Morrison St', city: 'Portland', zip: '97205' },
  { key: 'eastside', name: 'Eastside Campus', line: '4410 SE Division St', city: 'Portland', zip: '97206' },
  { key: 'westside', name: 'Westside Campus', line: '2975 NW Cornell Rd', city: 'Beaverton', zip: '97006' },
];

/** NUCC taxonomy per staff kind and department. */
const SPECIALTY: Record<string, { code: string; display: string }> = {
  'physician/family-medicine': { code: '207Q00000X', display: 'Family Medicine Physician' },
  'physician/internal-medicine': { code: '207R00000X', display: 'Internal Medicine Physician' },
  'physician/pediatrics': { code: '208000000X', display: 'Pediatrics Physician' },
  'physician/endocrinology': { code: '207RE0101X', display: 'Endocrinology, Diabetes & Metabolism Physician' },
  'physician/cardiology': { code: '207RC0000X', display: 'Cardiovascular Disease Physician' },
  'nurse-practitioner/family-medicine': { code: '363LF0000X', display: 'Family Nurse Practitioner' },
  'nurse-practitioner/pediatrics': { code: '363LP0200X', display: 'Pediatrics Nurse Practitioner' },
  'nurse/family-medicine': { code: '163W00000X', display: 'Registered Nurse' },
  'nurse/internal-medicine': { code: '163W00000X', display: 'Registered Nurse' },
  'nurse/pediatrics': { code: '163WP0200X', display: 'Pediatrics Registered Nurse' },
  'nurse/endocrinology': { code: '163W00000X', display: 'Registered Nurse' },
};

/**
 * Staff positions in order. The first twelve cover every clinical department; beyond that the
 * list repeats, so a larger clinic (--practitioners 60) grows the busy departments.
 */
const POSITIONS: ReadonlyArray<[StaffKind, DepartmentKey]> = [
  ['physician', 'family-medicine'],
  ['physician', 'internal-medicine'],
  ['physician', 'pediatrics'],
  ['physician', 'endocrinology'],
  ['physician', 'cardiology'],
  ['nurse', 'family-medicine'],
  ['nurse', 'pediatrics'],
  ['nurse-practitioner', 'family-medicine'],
  ['physician', 'family-medicine'],
  ['nurse', 'internal-medicine'],
  ['physician', 'internal-medicine'],
  ['nurse', 'endocrinology'],
  ['physician', 'pediatrics'],
  ['nurse-practitioner', 'pediatrics'],
  ['physician', 'family-medicine'],
  ['nurse', 'family-medicine'],
];

/** A valid NPI: 9 digits plus a Luhn check digit computed with the 80840 prefix. */
function npi(rng: Random): string {
  const base = `1${String(rng.int(0, 99999999)).padStart(8, '0')}`;
  const digits = `80840${base}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${base}${(10 - (sum % 10)) % 10}`;
}

export function buildClinicDirectory(seed: string, practitionerCount: number): ClinicDirectory {
  const rng = Random.derive(seed, 'clinic');
  const ids = new IdFactory(seed, 'clinic');
  const resources: FhirResource[] = [];

  const orgId = ids.named('Organization', 'clinic');
  const orgRef = { reference: `Organization/${orgId}`, display: CLINIC_NAME };
  const clinicPhone = '(503) 555-0100';
  const organization: Organization = {
    resourceType: 'Organization',
    id: orgId,
    meta: { profile: [PROFILE.organization] },
    identifier: [{ system: SYSTEM.npi, value: npi(rng) }],
    active: true,
    type: [concept(SYSTEM.organizationType, 'prov', 'Healthcare Provider')],
    name: CLINIC_NAME,
    telecom: [
      { system: 'phone', value: clinicPhone, use: 'work' },
      { system: 'url', value: 'https://health-records.dev', use: 'work' },
    ],
    address: [{ use: 'work', line: [CAMPUSES[0]!.line], city: CAMPUSES[0]!.city, state: STATE, postalCode: CAMPUSES[0]!.zip, country: 'US' }],
  };
  resources.push(organization);

  const departments: Department[] = DEPARTMENTS.map((d, i) => {
    const id = ids.named('Organization', d.key);
    const dept: Organization = {
      resourceType: 'Organization',
      id,
      meta: { profile: [PROFILE.organization] },
      identifier: [{ system: IDENTIFIER.department, value: d.key }],
      active: true,
      type: [concept(SYSTEM.organizationType, 'dept', 'Hospital Department')],
      name: `${CLINIC_NAME} ${d.name}`,
      telecom: [{ system: 'phone', value: `(503) 555-01${String(10 + i).padStart(2, '0')}`, use: 'work' }],
      address: organization.address,
      partOf: orgRef,
    };
    resources.push(dept);
    return { key: d.key, id, name: dept.name!, reference: { reference: `Organization/${id}`, display: dept.name! } };
  });

  const campuses: Campus[] = CAMPUSES.map((c, i) => {
    const id = ids.named('Location', c.key);
    const name = `${CLINIC_NAME} ${c.name}`;
    const location: Location = {
      resourceType: 'Location',
      id,
      identifier: [{ system: IDENTIFIER.location, value: c.key }],
      status: 'active',
      name,
      mode: 'instance',
      type: [concept(SYSTEM.v3RoleCode, 'OF', 'Outpatient facility')],
      telecom: [{ system: 'phone', value: `(503) 555-01${String(20 + i).padStart(2, '0')}`, use: 'work' }],
      address: { use: 'work', line: [c.line], city: c.city, state: STATE, postalCode: c.zip, country: 'US' },
      physicalType: concept(SYSTEM.locationPhysicalType, 'bu', 'Building'),
      managingOrganization: orgRef,
    };
    resources.push(location);
    return { id, name, reference: { reference: `Location/${id}`, display: name } };
  });

  const staff: StaffMember[] = [];
  const usedNames = new Set<string>();
  for (let i = 0; i < practitionerCount; i++) {
    const [kind, department] = POSITIONS[i % POSITIONS.length]!;
    const sex: Sex = rng.chance(0.55) ? 'female' : 'male';
    let given = rng.pick(GIVEN_NAMES[sex]);
    let family = rng.pick(FAMILY_NAMES);
    // Distinct names keep the portal's "message from Dr. X" unambiguous in the demo.
    for (let tries = 0; usedNames.has(`${given} ${family}`) && tries < 20; tries++) {
      given = rng.pick(GIVEN_NAMES[sex]);
      family = rng.pick(FAMILY_NAMES);
    }
    usedNames.add(`${given} ${family}`);
    const practitionerId = ids.named('Practitioner', String(i));
    const roleId = ids.named('PractitionerRole', String(i));
    const suffix = kind === 'physician' ? 'MD' : kind === 'nurse-practitioner' ? 'NP' : 'RN';
    const display = kind === 'physician' ? `Dr. ${given} ${family}` : `${given} ${family}, ${suffix}`;
    const campus = campuses[i % campuses.length]!;
    const dept = departments.find((d) => d.key === department)!;
    const phone = `(503) 555-01${String(30 + (i % 70)).padStart(2, '0')}`;
    const practitioner: Practitioner = {
      resourceType: 'Practitioner',
      id: practitionerId,
      meta: { profile: [PROFILE.practitioner] },
      identifier: [
        { system: SYSTEM.npi, value: npi(rng) },
        { system: IDENTIFIER.staff, value: `S${String(1000 + i)}` },
      ],
      active: true,
      name: [{ use: 'official', text: `${given} ${family}, ${suffix}`, family, given: [given], suffix: [suffix] }],
      telecom: [{ system: 'phone', value: phone, use: 'work' }],
      gender: sex,
      qualification: [{ code: { text: suffix } }],
    };
    const specialty = SPECIALTY[`${kind}/${department}`] ?? { code: '163W00000X', display: 'Registered Nurse' };
    const role: PractitionerRole = {
      resourceType: 'PractitionerRole',
      id: roleId,
      active: true,
      practitioner: { reference: `Practitioner/${practitionerId}`, display },
      organization: dept.reference,
      code: [
        concept(
          SYSTEM.practitionerRole,
          kind === 'nurse' ? 'nurse' : 'doctor',
          kind === 'nurse' ? 'Nurse' : 'Doctor',
        ),
      ],
      specialty: [{ coding: [coding(SYSTEM.nucc, specialty.code, specialty.display)], text: specialty.display }],
      location: [campus.reference],
      telecom: [{ system: 'phone', value: phone, use: 'work' }],
    };
    resources.push(practitioner, role);
    staff.push({
      practitionerId,
      roleId,
      kind,
      department,
      campus,
      display,
      reference: { reference: `Practitioner/${practitionerId}`, display },
      roleReference: { reference: `PractitionerRole/${roleId}`, display },
    });
  }

  return { organization: orgRef, departments, campuses, staff, resources };
}

/** Staff of a kind in a department; falls back to any physician so small clinics still work. */
export function staffIn(directory: ClinicDirectory, department: DepartmentKey, kind: StaffKind): StaffMember[] {
  const found = directory.staff.filter((s) => s.department === department && s.kind === kind);
  if (found.length > 0) return found;
  const physicians = directory.staff.filter((s) => s.kind === 'physician');
  return physicians.length > 0 ? physicians : directory.staff;
}

export function department(directory: ClinicDirectory, key: DepartmentKey): Department {
  return directory.departments.find((d) => d.key === key)!;
}
