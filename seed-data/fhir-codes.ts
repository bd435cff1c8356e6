// Code systems, identifier systems and profile URLs the generator writes.
import type { CodeableConcept, Coding } from 'fhir/r4';
import { PORTAL_PROFILES, PORTAL_TERMINOLOGY, US_CORE_PROFILES } from '../server/src/fhir/validate/portal-profiles.ts';

export const SYSTEM = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  ucum: 'http://unitsofmeasure.org',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  nucc: 'http://nucc.org/provider-taxonomy',
  v2IdentifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  v2DiagnosticService: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  v3ActCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  v3RoleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  v3ParticipationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  v3Interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  v3MaritalStatus: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  medicationRequestCategory: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  locationPhysicalType: 'http://terminology.hl7.org/CodeSystem/location-physical-type',
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentCategory: 'http://terminology.hl7.org/CodeSystem/consentcategorycodes',
  consentAction: 'http://terminology.hl7.org/CodeSystem/consentaction',
  communicationCategory: 'http://terminology.hl7.org/CodeSystem/communication-category',
  appointmentCancellation: 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason',
  serviceType: 'http://terminology.hl7.org/CodeSystem/service-type',
  resourceTypes: 'http://hl7.org/fhir/resource-types',
  language: 'urn:ietf:bcp:47',
  ombRaceEthnicity: 'urn:oid:2.16.840.1.113883.6.238',
  dataAbsentReason: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
  v2AppointmentType: 'http://terminology.hl7.org/CodeSystem/v2-0276',
  practitionerRole: 'http://terminology.hl7.org/CodeSystem/practitioner-role',
  usCoreDocumentCategory: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
} as const;

/** Identifier systems of this product (see README). */
export const IDENTIFIER = {
  mrn: 'https://health-records.dev/fhir/sid/mrn',
  encounter: 'https://health-records.dev/fhir/sid/encounter',
  invoice: 'https://health-records.dev/fhir/sid/invoice',
  appointment: 'https://health-records.dev/fhir/sid/appointment',
  staff: 'https://health-records.dev/fhir/sid/staff',
  location: 'https://health-records.dev/fhir/sid/location',
  department: 'https://health-records.dev/fhir/sid/department',
} as const;

/** The product's own code systems. */
export const CODESYSTEM = {
  charge: 'https://health-records.dev/fhir/CodeSystem/charge-item',
} as const;

/**
 * Profiles claimed in meta.profile, so the server validates each resource against them. Only
 * profiles the server ships (fhir-profiles/README.md) are claimed: an unknown one would only earn
 * a warning. Vital signs other than blood pressure claim the generic vital-signs profile because
 * the server does not ship US Core's weight/BMI/heart-rate children.
 */
export const PROFILE = {
  patient: US_CORE_PROFILES.patient,
  practitioner: US_CORE_PROFILES.practitioner,
  organization: US_CORE_PROFILES.organization,
  observationLab: US_CORE_PROFILES.observationLab,
  vitalSigns: US_CORE_PROFILES.vitalSigns,
  bloodPressure: US_CORE_PROFILES.bloodPressure,
  medicationRequest: US_CORE_PROFILES.medicationRequest,
  conditionProblem: US_CORE_PROFILES.conditionProblems,
  conditionEncounterDiagnosis: US_CORE_PROFILES.conditionEncounterDiagnosis,
  allergyIntolerance: US_CORE_PROFILES.allergyIntolerance,
  encounter: US_CORE_PROFILES.encounter,
  diagnosticReportLab: US_CORE_PROFILES.diagnosticReportLab,
  diagnosticReportNote: US_CORE_PROFILES.diagnosticReportNote,
  portalAppointment: PORTAL_PROFILES.appointment,
  portalCommunication: PORTAL_PROFILES.communication,
  patientStatement: PORTAL_PROFILES.invoice,
  proxyConsent: PORTAL_PROFILES.consent,
} as const;

/** The portal's own code systems (fhir-profiles/README.md, "This product's profiles"). */
export const PORTAL_CODESYSTEM = {
  messageCategory: PORTAL_TERMINOLOGY.messageCategoryCodeSystem,
  invoiceType: PORTAL_TERMINOLOGY.invoiceTypeCodeSystem,
} as const;

export function coding(system: string, code: string, display?: string): Coding {
  return display === undefined ? { system, code } : { system, code, display };
}

export function concept(system: string, code: string, display: string, text?: string): CodeableConcept {
  return { coding: [coding(system, code, display)], text: text ?? display };
}
