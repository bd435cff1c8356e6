// How profile claims are handled: unknown profiles, requested profiles, the requireProfiles
// setting, and what the server lists as supported profiles.
import { expect } from 'chai';
import type { Patient } from 'fhir/r4';
import { PORTAL_PROFILES, REQUIRED_PROFILES_BY_TYPE, US_CORE_PROFILES, type ResourceValidator } from '../src/fhir/validate/index.ts';
import { portalAppointment, usCoreLabObservation, usCorePatient } from './fixtures/profile-examples.ts';
import { expectAccepted, expectRejected, testValidator } from './fixtures/validator.ts';

const plainPatient = (): Patient => ({ resourceType: 'Patient', name: [{ family: 'Rivera' }] });

describe('profile claims', () => {
  let v: ResourceValidator;
  before(async () => {
    v = await testValidator(false);
  });

  it('an unknown claimed profile is a warning, and the resource is still accepted', () => {
    const r = { ...plainPatient(), meta: { profile: ['http://example.org/fhir/StructureDefinition/other-ig-patient'] } };
    const result = v.check(r);
    expect(result.status).to.equal(200);
    expect(result.issues).to.have.length(1);
    expect(result.issues[0]).to.include({ severity: 'warning', code: 'not-supported' });
    expect(result.issues[0].diagnostics).to.match(/other-ig-patient is not known/);
  });

  it('a versioned canonical of a known profile is checked like the plain one', () => {
    const r = { ...plainPatient(), meta: { profile: [`${US_CORE_PROFILES.patient}|5.0.1`] } };
    expectRejected(v, r, 422, { code: 'required', expression: 'Patient.identifier' });
  });

  it('a profile asked for explicitly (as $validate?profile= does) is checked; an unknown one is an error', () => {
    expect(v.check(plainPatient(), { profiles: [US_CORE_PROFILES.patient] }).status).to.equal(422);
    const unknown = v.check(plainPatient(), { profiles: ['http://example.org/nope'] });
    expect(unknown.status).to.equal(422);
    expect(unknown.issues[0]).to.include({ severity: 'error', code: 'not-supported' });
  });

  it('without requireProfiles, a plain R4 resource of a central type is accepted', () => {
    expectAccepted(v, plainPatient());
    expectAccepted(v, { resourceType: 'Appointment', status: 'booked', start: '2024-01-01T10:00:00Z', end: '2024-01-01T10:30:00Z', participant: [{ status: 'accepted', actor: { reference: 'Patient/p1' } }] });
  });

  it('lists the supported profiles per resource type for the CapabilityStatement', () => {
    const byType = v.supportedProfiles();
    expect(byType.Appointment).to.deep.equal([PORTAL_PROFILES.appointment]);
    expect(byType.Consent).to.deep.equal([PORTAL_PROFILES.consent]);
    expect(byType.Observation).to.include.members([US_CORE_PROFILES.observationLab, US_CORE_PROFILES.vitalSigns]);
    expect(v.supportedProfilesFor('Patient')).to.deep.equal([US_CORE_PROFILES.patient]);
    expect(v.supportedProfilesFor('Basic')).to.deep.equal([]);
  });
});

describe('requireProfiles', () => {
  let v: ResourceValidator;
  before(async () => {
    v = await testValidator(true);
  });

  it('rejects a central-type resource that conforms to none of our profiles (422)', () => {
    const issue = expectRejected(v, plainPatient(), 422, { code: 'invariant', diagnostics: /must conform to one of/ });
    expect(issue.diagnostics).to.include(US_CORE_PROFILES.patient);
    // ...and says what is missing.
    expectRejected(v, plainPatient(), 422, { code: 'required', expression: 'Patient.identifier' });
  });

  it('accepts a conforming resource that does not claim the profile in meta.profile', () => {
    const p = usCorePatient();
    delete p.meta;
    expectAccepted(v, p);
  });

  it('accepts an Observation that conforms to any of the Observation profiles', () => {
    const o = usCoreLabObservation();
    delete o.meta;
    expectAccepted(v, o);
  });

  it('checks a claimed profile once, with its own issues', () => {
    const a = portalAppointment();
    delete a.created;
    const errors = v.validate(a).filter((i) => i.severity === 'error');
    expect(errors.map((e) => e.expression?.[0])).to.deep.equal(['Appointment.created']);
  });

  it('leaves the other resource types alone', () => {
    expect(REQUIRED_PROFILES_BY_TYPE).to.not.have.property('Practitioner');
    expectAccepted(v, { resourceType: 'Practitioner', name: [{ text: 'Dr Who' }] });
  });
});
