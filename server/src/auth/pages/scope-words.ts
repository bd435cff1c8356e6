// What an app asks for, in plain words for the consent page ("See your lab results"), and the
// categories a person may narrow Observation and Condition access to (granted as granular SMART
// v2 scopes: patient/Observation.rs?category=…|laboratory).
// See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#finer-grained-resource-constraints-using-search-parameters
import type { ResourceScope } from '../../access/smart-scopes.ts';

export interface Category {
  system: string;
  code: string;
  words: string;
}

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
const US_CORE_CONDITION_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/condition-category';

export const CATEGORIES: Record<string, Category[]> = {
  Observation: [
    { system: OBSERVATION_CATEGORY, code: 'laboratory', words: 'lab results' },
    { system: OBSERVATION_CATEGORY, code: 'vital-signs', words: 'vital signs (blood pressure, weight, pulse…)' },
    { system: OBSERVATION_CATEGORY, code: 'social-history', words: 'social history (smoking, alcohol…)' },
    { system: OBSERVATION_CATEGORY, code: 'survey', words: 'questionnaire answers and assessments' },
    { system: OBSERVATION_CATEGORY, code: 'imaging', words: 'imaging results' },
    { system: OBSERVATION_CATEGORY, code: 'exam', words: 'examination findings' },
    { system: OBSERVATION_CATEGORY, code: 'procedure', words: 'procedure results' },
    { system: OBSERVATION_CATEGORY, code: 'therapy', words: 'therapy notes' },
    { system: OBSERVATION_CATEGORY, code: 'activity', words: 'activity (exercise, sleep…)' },
  ],
  Condition: [
    { system: CONDITION_CATEGORY, code: 'problem-list-item', words: 'problem list' },
    { system: CONDITION_CATEGORY, code: 'encounter-diagnosis', words: 'diagnoses from visits' },
    { system: US_CORE_CONDITION_CATEGORY, code: 'health-concern', words: 'health concerns' },
  ],
};

const TYPE_WORDS: Record<string, string> = {
  '*': 'everything in the health record',
  Observation: 'lab results, vital signs and other measurements',
  Condition: 'health problems and diagnoses',
  MedicationRequest: 'medications and prescriptions',
  MedicationStatement: 'medications taken',
  MedicationDispense: 'medications dispensed',
  MedicationAdministration: 'medications given',
  Medication: 'medication details',
  AllergyIntolerance: 'allergies',
  Immunization: 'immunizations',
  Appointment: 'appointments',
  Communication: 'messages',
  CommunicationRequest: 'message requests',
  Invoice: 'bills',
  Account: 'billing accounts',
  Coverage: 'insurance',
  ExplanationOfBenefit: 'insurance claims',
  Claim: 'claims',
  DiagnosticReport: 'test and imaging reports',
  DocumentReference: 'documents and clinical notes',
  Encounter: 'visits',
  Procedure: 'procedures',
  CarePlan: 'care plans',
  CareTeam: 'care team',
  Goal: 'health goals',
  Patient: 'basic details (name, date of birth, contact details)',
  RelatedPerson: 'family members and caregivers',
  Consent: 'sharing permissions',
  Provenance: 'where records came from',
  Device: 'implants and devices',
  ServiceRequest: 'orders and referrals',
  QuestionnaireResponse: 'questionnaire answers',
  Questionnaire: 'questionnaires',
  Practitioner: 'the clinic’s clinicians',
  PractitionerRole: 'the clinic’s clinicians and their roles',
  Organization: 'organizations',
  Location: 'the clinic’s locations',
  Schedule: 'schedules',
  Slot: 'appointment slots',
  AuditEvent: 'the access log',
  Specimen: 'lab specimens',
  FamilyMemberHistory: 'family health history',
};

function typeWords(type: string): string {
  return TYPE_WORDS[type] ?? type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() + ' records';
}

function verbs(scope: ResourceScope): string {
  const a = scope.actions;
  const parts: string[] = [];
  if (a.has('r') || a.has('s')) parts.push('see');
  if (a.has('c')) parts.push('add');
  if (a.has('u')) parts.push('change');
  if (a.has('d')) parts.push('delete');
  const text = parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The category a granular scope is restricted to, when it is one we know. */
export function categoryOf(scope: ResourceScope): Category | undefined {
  if (!scope.query || scope.query.length !== 1 || scope.query[0][0] !== 'category') return undefined;
  const [system, code] = scope.query[0][1].split('|');
  return CATEGORIES[scope.resourceType]?.find((c) => c.system === system && c.code === code);
}

/**
 * "See your lab results", "See and change Sam's appointments", "See lab results of the patients
 * you open" (user scopes).
 * `whose`: "your", "Sam Fischer’s" or, for user-level scopes, undefined.
 */
export function describeScope(scope: ResourceScope, whose: string): string {
  const category = categoryOf(scope);
  const what = category ? category.words : scope.query ? `${typeWords(scope.resourceType)} (only some: ${scope.query.map(([k, v]) => `${k} ${v}`).join(', ')})` : typeWords(scope.resourceType);
  if (scope.context === 'user') return `${verbs(scope)} ${what} of any patient you can open`;
  if (scope.context === 'system') return `${verbs(scope)} ${what} of all patients`;
  return `${verbs(scope)} ${whose} ${what}`;
}

/** Identity and launch scopes in plain words; undefined for those not worth a line. */
export function describeOtherScope(scope: string, whose: string): string | undefined {
  switch (scope) {
    case 'openid':
    case 'fhirUser':
      return 'Know who you are';
    case 'profile':
    case 'email':
      return 'See your name and email address';
    case 'launch/patient':
    case 'launch':
      return `Know whose record is open (${whose.replace(/’s$/, '').replace(/^your$/, 'yours')})`;
    case 'launch/encounter':
      return 'Know which visit is open';
    case 'online_access':
      return 'Stay connected while you are signed in';
    default:
      return undefined;
  }
}
