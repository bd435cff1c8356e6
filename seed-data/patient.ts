// The Patient resource and its proxies (RelatedPerson + a proxy-consent Consent).
import type { Consent, Extension, HumanName, Patient, RelatedPerson } from 'fhir/r4';
import { addDays, addYears, fhirDate, fhirDateTime, startOfDay } from './dates.ts';
import { IDENTIFIER, PROFILE, SYSTEM, coding, concept } from './fhir-codes.ts';
import { homeAddress, personName, personTelecom, type Sex } from './pools.ts';
import type { Random } from './random.ts';
import { addResource, type RecordContext, urnRef } from './record-context.ts';
import { uuidFromName } from './ids.ts';

/** MRN: a two-digit prefix derived from the seed (so two seeds rarely collide) + the patient index. */
export function mrnFor(seed: string, index: number): string {
  const prefix = 10 + (parseInt(uuidFromName(`mrn-prefix/${seed}`).slice(0, 8), 16) % 90);
  return `${prefix}${String(index + 1).padStart(7, '0')}`;
}

const RACES: ReadonlyArray<readonly [{ code: string; display: string }, number]> = [
  [{ code: '2106-3', display: 'White' }, 60],
  [{ code: '2028-9', display: 'Asian' }, 12],
  [{ code: '2054-5', display: 'Black or African American' }, 12],
  [{ code: '2076-8', display: 'Native Hawaiian or Other Pacific Islander' }, 2],
  [{ code: '1002-5', display: 'American Indian or Alaska Native' }, 2],
];

function usCoreExtensions(rng: Random, sex: Sex): Extension[] {
  const race = rng.weighted(RACES);
  const hispanic = rng.chance(0.18);
  const ethnicity = hispanic ? { code: '2135-2', display: 'Hispanic or Latino' } : { code: '2186-5', display: 'Not Hispanic or Latino' };
  return [
    {
      url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
      extension: [
        { url: 'ombCategory', valueCoding: coding(SYSTEM.ombRaceEthnicity, race.code, race.display) },
        { url: 'text', valueString: race.display },
      ],
    },
    {
      url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity',
      extension: [
        { url: 'ombCategory', valueCoding: coding(SYSTEM.ombRaceEthnicity, ethnicity.code, ethnicity.display) },
        { url: 'text', valueString: ethnicity.display },
      ],
    },
    { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: sex === 'female' ? 'F' : 'M' },
  ];
}

export interface PatientIdentity {
  name: HumanName;
  patient: Patient & { id: string };
}

export function buildPatient(ctx: RecordContext, name: HumanName): Patient & { id: string } {
  const { plan, rng, course } = ctx;
  const adult = plan.age >= 18;
  const patient: Patient = {
    resourceType: 'Patient',
    id: ctx.patientId,
    meta: { profile: [PROFILE.patient] },
    extension: usCoreExtensions(rng, plan.sex),
    identifier: [
      {
        use: 'usual',
        type: concept(SYSTEM.v2IdentifierType, 'MR', 'Medical record number', 'MRN'),
        system: IDENTIFIER.mrn,
        value: ctx.mrn,
      },
    ],
    active: true,
    name: [name],
    // A minor's contact details are the parent's (on the RelatedPerson), not their own.
    ...(adult ? { telecom: personTelecom(rng, name) } : {}),
    gender: plan.sex,
    birthDate: fhirDate(course.birthDate),
    address: [homeAddress(rng, fhirDate(course.historyStart))],
    ...(adult
      ? { maritalStatus: rng.chance(0.55) ? concept(SYSTEM.v3MaritalStatus, 'M', 'Married') : plan.age > 75 && rng.chance(0.5) ? concept(SYSTEM.v3MaritalStatus, 'W', 'Widowed') : concept(SYSTEM.v3MaritalStatus, 'S', 'Never Married') }
      : {}),
    communication: [
      {
        language: rng.chance(0.12) ? concept(SYSTEM.language, 'es', 'Spanish', 'Spanish') : concept(SYSTEM.language, 'en-US', 'English (United States)', 'English'),
        preferred: true,
      },
    ],
    generalPractitioner: [ctx.pcp.reference],
    managingOrganization: ctx.clinic.organization,
  };
  return addResource(ctx, patient);
}

const PROXY_CLASSES = [
  'Patient',
  'Observation',
  'DiagnosticReport',
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'Immunization',
  'Encounter',
  'Appointment',
  'Communication',
  'Invoice',
] as const;

export interface Proxy {
  relatedPerson: RelatedPerson & { id: string };
  consent: Consent & { id: string };
  display: string;
}

/**
 * A proxy: a parent of a minor (grant runs until the 18th birthday, signed by the parent as
 * guardian) or an adult child of an elderly patient (open-ended, signed by the patient).
 */
export function buildProxy(ctx: RecordContext, patient: Patient & { id: string }): Proxy | undefined {
  const { plan, rng, course } = ctx;
  if (!plan.proxy) return undefined;
  const parent = plan.proxy === 'parent';
  const sex: Sex = rng.chance(parent ? 0.6 : 0.55) ? 'female' : 'male';
  const family = parent || rng.chance(0.6) ? patient.name![0]!.family : undefined;
  const name = personName(rng, sex, family);
  const relationship = parent
    ? sex === 'female'
      ? { code: 'MTH', display: 'mother' }
      : { code: 'FTH', display: 'father' }
    : sex === 'female'
      ? { code: 'DAU', display: 'natural daughter' }
      : { code: 'SON', display: 'natural son' };
  const proxyAge = parent ? plan.age + rng.int(24, 40) : plan.age - rng.int(24, 36);
  const birth = addDays(addYears(course.birthDate, -(proxyAge - plan.age)), rng.int(-150, 150));
  const since = parent ? course.birthDate > course.historyStart ? course.birthDate : course.historyStart : addDays(ctx.now, -rng.int(200, 900));
  const relatedPerson = addResource<RelatedPerson>(ctx, {
    resourceType: 'RelatedPerson',
    active: true,
    patient: ctx.patientRef,
    relationship: [{ coding: [coding(SYSTEM.v3RoleCode, relationship.code, relationship.display)], text: relationship.display.replace('natural ', '') }],
    name: [name],
    telecom: personTelecom(rng, name),
    gender: sex,
    birthDate: fhirDate(birth),
    address: parent && patient.address ? patient.address : [homeAddress(rng)],
    period: { start: fhirDate(since) },
  });
  const granted = startOfDay(addDays(since, parent ? rng.int(0, 30) : 0));
  const grantedAt = granted < startOfDay(ctx.now) ? granted : addDays(startOfDay(ctx.now), -1);
  const consent: Consent = {
    resourceType: 'Consent',
    meta: { profile: [PROFILE.proxyConsent] },
    status: 'active',
    scope: concept(SYSTEM.consentScope, 'patient-privacy', 'Privacy Consent'),
    category: [concept(SYSTEM.loinc, '59284-0', 'Patient Consent')],
    patient: ctx.patientRef,
    dateTime: fhirDateTime(grantedAt),
    // A minor cannot sign: the parent consents as guardian. An adult grants access themselves.
    performer: [parent ? urnRef(relatedPerson, name.text) : urnRef(patient, patient.name![0]!.text)],
    organization: [ctx.clinic.organization],
    policyRule: concept(SYSTEM.v3ActCode, 'OPTIN', 'opt-in'),
    provision: {
      type: 'permit',
      period: parent ? { start: fhirDate(grantedAt), end: fhirDate(addYears(course.birthDate, 18)) } : { start: fhirDate(grantedAt) },
      actor: [{ role: concept(SYSTEM.v3ParticipationType, 'IRCP', 'information recipient'), reference: urnRef(relatedPerson, name.text) }],
      action: [concept(SYSTEM.consentAction, 'access', 'Access'), concept(SYSTEM.consentAction, 'correct', 'Access and Correct')],
      class: PROXY_CLASSES.map((c) => coding(SYSTEM.resourceTypes, c)),
    },
  };
  return { relatedPerson, consent: addResource(ctx, consent), display: `${name.text} (${relationship.display.replace('natural ', '')})` };
}
