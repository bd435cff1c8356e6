// Canonical URLs of the profiles this server ships (fhir-profiles/), as constants so other code
// (seed data, CapabilityStatement, tests) never spells them by hand. The rules behind each URL are
// described in fhir-profiles/README.md.

/** Canonical base of this product's own conformance resources. */
export const PORTAL_CANONICAL_BASE = 'https://health-records.dev/fhir';

/** This product's own profiles. */
export const PORTAL_PROFILES = {
  appointment: `${PORTAL_CANONICAL_BASE}/StructureDefinition/portal-appointment`,
  communication: `${PORTAL_CANONICAL_BASE}/StructureDefinition/portal-communication`,
  invoice: `${PORTAL_CANONICAL_BASE}/StructureDefinition/patient-statement`,
  consent: `${PORTAL_CANONICAL_BASE}/StructureDefinition/proxy-consent`,
} as const;

/** This product's own ValueSets and CodeSystems (bound `required` by the profiles above). */
export const PORTAL_TERMINOLOGY = {
  appointmentTypeValueSet: `${PORTAL_CANONICAL_BASE}/ValueSet/portal-appointment-type`,
  communicationStatusValueSet: `${PORTAL_CANONICAL_BASE}/ValueSet/portal-communication-status`,
  messageCategoryValueSet: `${PORTAL_CANONICAL_BASE}/ValueSet/portal-message-category`,
  messageCategoryCodeSystem: `${PORTAL_CANONICAL_BASE}/CodeSystem/portal-message-category`,
  statementStatusValueSet: `${PORTAL_CANONICAL_BASE}/ValueSet/patient-statement-status`,
  invoiceTypeCodeSystem: `${PORTAL_CANONICAL_BASE}/CodeSystem/invoice-type`,
  consentActionValueSet: `${PORTAL_CANONICAL_BASE}/ValueSet/proxy-consent-action`,
  consentDataClassValueSet: `${PORTAL_CANONICAL_BASE}/ValueSet/proxy-data-class`,
} as const;

/** US Core 5.0.1 profiles the server ships. See: http://hl7.org/fhir/us/core/STU5.0.1/ */
const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';
export const US_CORE_VERSION = '5.0.1';
export const US_CORE_PROFILES = {
  patient: `${US_CORE}/us-core-patient`,
  observationLab: `${US_CORE}/us-core-observation-lab`,
  vitalSigns: `${US_CORE}/us-core-vital-signs`,
  bloodPressure: `${US_CORE}/us-core-blood-pressure`,
  medicationRequest: `${US_CORE}/us-core-medicationrequest`,
  conditionProblems: `${US_CORE}/us-core-condition-problems-health-concerns`,
  conditionEncounterDiagnosis: `${US_CORE}/us-core-condition-encounter-diagnosis`,
  allergyIntolerance: `${US_CORE}/us-core-allergyintolerance`,
  encounter: `${US_CORE}/us-core-encounter`,
  diagnosticReportLab: `${US_CORE}/us-core-diagnosticreport-lab`,
  diagnosticReportNote: `${US_CORE}/us-core-diagnosticreport-note`,
  practitioner: `${US_CORE}/us-core-practitioner`,
  organization: `${US_CORE}/us-core-organization`,
} as const;

/**
 * The profiles a resource of one of the six central types must conform to (one of them) when
 * `requireProfiles` is on. Order matters: a resource that claims none is tried against each.
 */
export const REQUIRED_PROFILES_BY_TYPE: Readonly<Record<string, readonly string[]>> = {
  Patient: [US_CORE_PROFILES.patient],
  Observation: [US_CORE_PROFILES.observationLab, US_CORE_PROFILES.vitalSigns],
  MedicationRequest: [US_CORE_PROFILES.medicationRequest],
  Appointment: [PORTAL_PROFILES.appointment],
  Communication: [PORTAL_PROFILES.communication],
  Invoice: [PORTAL_PROFILES.invoice],
};
