// US Core 5.0.1 profiles (fhir-profiles/us-core/): conforming resources accepted, violations of
// the IG's rules rejected with 422 and a location.
import { expect } from 'chai';
import type { Condition, Observation } from 'fhir/r4';
import { US_CORE_PROFILES, type ResourceValidator } from '../src/fhir/validate/index.ts';
import { usCoreBloodPressure, usCoreLabObservation, usCoreMedicationRequest, usCorePatient } from './fixtures/profile-examples.ts';
import { expectAccepted, expectRejected, testValidator } from './fixtures/validator.ts';

let v: ResourceValidator;
before(async () => {
  v = await testValidator();
});

describe('US Core Patient', () => {
  it('accepts a patient with identifier, name and gender', () => expectAccepted(v, usCorePatient()));

  it('rejects a patient without identifier (cardinality 1..*)', () => {
    const p = usCorePatient();
    delete p.identifier;
    expectRejected(v, p, 422, { code: 'required', expression: 'Patient.identifier' });
  });

  it('rejects an identifier without system (nested cardinality)', () => {
    expectRejected(v, { ...usCorePatient(), identifier: [{ value: 'MRN-1' }] }, 422, { code: 'required', expression: 'Patient.identifier[0].system' });
  });

  it('rejects a name with neither family nor given (invariant us-core-6)', () => {
    expectRejected(v, { ...usCorePatient(), name: [{ text: 'Ana Rivera' }] }, 422, { code: 'invariant', expression: 'Patient', diagnostics: /us-core-6/ });
  });

  it('rejects a telecom without system (nested cardinality)', () => {
    expectRejected(v, { ...usCorePatient(), telecom: [{ value: '555' }] }, 422, { code: 'required', expression: 'Patient.telecom[0].system' });
  });
});

describe('US Core Laboratory Result Observation', () => {
  it('accepts an HbA1c result', () => expectAccepted(v, usCoreLabObservation()));

  it('rejects a result without the laboratory category (slice cardinality)', () => {
    const o = { ...usCoreLabObservation(), category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }] };
    expectRejected(v, o, 422, { code: 'required', expression: 'Observation.category', diagnostics: /slice 'Laboratory'/ });
  });

  it('rejects a result without subject (cardinality)', () => {
    const o = usCoreLabObservation();
    delete o.subject;
    expectRejected(v, o, 422, { code: 'required', expression: 'Observation.subject' });
  });

  it('rejects a result time known only to the year (invariant us-core-1)', () => {
    expectRejected(v, { ...usCoreLabObservation(), effectiveDateTime: '2024' }, 422, { code: 'invariant', expression: 'Observation.effectiveDateTime', diagnostics: /us-core-1/ });
  });

  it('rejects a quantity in a non-UCUM unit system (invariant us-core-3)', () => {
    const o = { ...usCoreLabObservation(), valueQuantity: { value: 6.8, unit: '%', system: 'http://example.org/units', code: 'pct' } };
    expectRejected(v, o, 422, { code: 'invariant', diagnostics: /us-core-3/ });
  });

  it('rejects a result with neither value nor dataAbsentReason (invariant us-core-2)', () => {
    const o = usCoreLabObservation();
    delete o.valueQuantity;
    expectRejected(v, o, 422, { code: 'invariant', diagnostics: /us-core-2/ });
  });

  it('rejects an unknown status (required binding, enforced by the R4 schema first: 400)', () => {
    expectRejected(v, { ...usCoreLabObservation(), status: 'done' }, 400, { code: 'code-invalid', expression: 'Observation.status' });
  });
});

describe('US Core Vital Signs and Blood Pressure', () => {
  it('accepts a blood pressure with systolic and diastolic components', () => expectAccepted(v, usCoreBloodPressure()));

  it('accepts a body weight under us-core-vital-signs', () => {
    const o: Observation = {
      resourceType: 'Observation',
      meta: { profile: [US_CORE_PROFILES.vitalSigns] },
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      subject: { reference: 'Patient/p1' },
      effectiveDateTime: '2024-05-02',
      valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    };
    expectAccepted(v, o);
  });

  it('rejects a blood pressure with another code (pattern)', () => {
    const o = { ...usCoreBloodPressure(), code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] } };
    expectRejected(v, o, 422, { code: 'value', expression: 'Observation.code', diagnostics: /85354-9/ });
  });

  it('rejects a blood pressure without its diastolic component (slice cardinality)', () => {
    const o = usCoreBloodPressure();
    o.component = [o.component![0]];
    expectRejected(v, o, 422, { code: 'required', diagnostics: /slice 'diastolic'/ });
  });

  it('rejects a systolic value in the wrong unit (fixed value)', () => {
    const o = usCoreBloodPressure();
    o.component![0].valueQuantity = { value: 16, unit: 'kPa', system: 'http://unitsofmeasure.org', code: 'kPa' };
    expectRejected(v, o, 422, { code: 'value', expression: 'Observation.component[0].valueQuantity.code', diagnostics: /mm\[Hg\]/ });
  });

  it('rejects a component value of a type the profile does not allow', () => {
    const o = usCoreBloodPressure();
    delete o.component![0].valueQuantity;
    o.component![0].valueString = '128';
    expectRejected(v, o, 422, { code: 'structure', expression: 'Observation.component[0].valueString', diagnostics: /not allowed/ });
  });
});

describe('US Core MedicationRequest', () => {
  it('accepts an active order with a requester', () => expectAccepted(v, usCoreMedicationRequest()));

  it('rejects an order without requester (cardinality)', () => {
    const m = usCoreMedicationRequest();
    delete m.requester;
    expectRejected(v, m, 422, { code: 'required', expression: 'MedicationRequest.requester' });
  });

  it('accepts a category outside the open US Core category slice', () => {
    // An open slice: a category from another system is allowed and not a violation.
    expectAccepted(v, { ...usCoreMedicationRequest(), category: [{ coding: [{ system: 'http://example.org/cat', code: 'x' }] }] });
  });
});

describe('US Core Condition profiles', () => {
  const condition = (category: string, system = 'http://terminology.hl7.org/CodeSystem/condition-category'): Condition => ({
    resourceType: 'Condition',
    meta: { profile: [US_CORE_PROFILES.conditionProblems] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system, code: category }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }] },
    subject: { reference: 'Patient/p1' },
  });

  it('accepts a problem-list item and a health concern', () => {
    expectAccepted(v, condition('problem-list-item'));
    expectAccepted(v, condition('health-concern', 'http://hl7.org/fhir/us/core/CodeSystem/condition-category'));
  });

  it('rejects a problem whose category is not from the problem/health-concern ValueSet (slice by required binding)', () => {
    expectRejected(v, condition('encounter-diagnosis'), 422, { code: 'required', diagnostics: /slice 'us-core'/ });
  });

  it('rejects a condition that claims a profile of another resource type', () => {
    const c = { ...condition('problem-list-item'), meta: { profile: [US_CORE_PROFILES.patient] } };
    expectRejected(v, c, 422, { code: 'invalid', diagnostics: /is for Patient, not Condition/ });
  });

  it('every US Core profile the server claims is loaded', () => {
    const claimed = Object.values(v.supportedProfiles()).flat();
    expect(claimed).to.include.members(Object.values(US_CORE_PROFILES));
  });
});
