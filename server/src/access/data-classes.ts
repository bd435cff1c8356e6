// The classes of a patient's data a proxy can be granted, the shared directory everyone with a
// patient's record may read, and what counts as sensitive for adolescents.
// A proxy Consent (fhir-profiles/README.md, proxy-consent) lists resource types in
// provision.class; the portal offers them grouped into these classes.
import fs from 'node:fs';
import path from 'node:path';

export const DATA_CLASSES = {
  results: ['Observation', 'DiagnosticReport'],
  record: ['Patient', 'Condition', 'AllergyIntolerance', 'Immunization', 'Encounter'],
  medications: ['MedicationRequest'],
  appointments: ['Appointment'],
  messages: ['Communication'],
  billing: ['Invoice'],
} as const;

export type DataClass = keyof typeof DATA_CLASSES;

/** The data class a resource type belongs to, if any. */
export function classOf(type: string): DataClass | undefined {
  for (const [name, types] of Object.entries(DATA_CLASSES)) if ((types as readonly string[]).includes(type)) return name as DataClass;
  return undefined;
}

/**
 * The clinic's directory: who and where, not anyone's health data. Patients and proxies read it
 * (their records point into it: the doctor, the department, the place).
 */
export const DIRECTORY_TYPES = new Set(['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'HealthcareService', 'Medication']);

/** Types whose results a patient sees only once released (result-release.ts). */
export const RESULT_TYPES = new Set(['Observation', 'DiagnosticReport']);

/** RelatedPerson.relationship codes of a parent or guardian (v3 RoleCode). */
export const PARENT_RELATIONSHIPS = new Set(['PRN', 'MTH', 'FTH', 'NPRN', 'NMTH', 'NFTH', 'STPPRN', 'STPMTH', 'STPFTH', 'ADOPTP', 'ADOPTM', 'ADOPTF', 'GUARD', 'PRNFOST', 'MTHFOST', 'FTHFOST', 'PARNT', 'GRPRN']);

export interface SensitiveDefinition {
  /** Class names (e.g. mental-health), for messages and documentation. */
  classes: string[];
  /** Security labels (meta.security) marking a resource sensitive, as "system|code". */
  securityLabels: string[];
  /** Codes (Observation/Condition/… code, medication code) of sensitive data, as "system|code". */
  codes: string[];
}

interface SensitiveFile {
  classes: Array<{ name: string; securityLabels?: string[]; codes?: string[] }>;
}

/**
 * What a parent proxy does not see of an adolescent's record: sexual and reproductive health,
 * mental health, substance use by default, from fhir-profiles/portal/adolescent-sensitive.json;
 * the configuration can choose fewer classes.
 */
export function loadSensitiveDefinition(profilesDir: string, classes: string[] | undefined): SensitiveDefinition {
  const file = path.join(profilesDir, 'portal', 'adolescent-sensitive.json');
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as SensitiveFile;
  const chosen = parsed.classes.filter((c) => !classes || classes.includes(c.name));
  const unknown = (classes ?? []).filter((name) => !parsed.classes.some((c) => c.name === name));
  if (unknown.length > 0) throw new Error(`Configuration: ADOLESCENT_SENSITIVE_CLASSES names unknown classes: ${unknown.join(', ')}`);
  return {
    classes: chosen.map((c) => c.name),
    securityLabels: chosen.flatMap((c) => c.securityLabels ?? []),
    codes: chosen.flatMap((c) => c.codes ?? []),
  };
}
