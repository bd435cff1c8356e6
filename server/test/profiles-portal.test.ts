// The product's own profiles (fhir-profiles/portal/): a conforming example of each is accepted, and
// each kind of violation is rejected with a located issue — 422 for profile rules, 400 for
// structure (unknown element, wrong type), as FHIR's http.html asks.
import { expect } from 'chai';
import type { ResourceValidator } from '../src/fhir/validate/index.ts';
import { patientStatement, portalAppointment, portalCommunication, proxyConsent } from './fixtures/profile-examples.ts';
import { expectAccepted, expectRejected, testValidator } from './fixtures/validator.ts';

let v: ResourceValidator;
before(async () => {
  v = await testValidator();
});

describe('portal-appointment profile', () => {
  it('accepts a patient-requested appointment', () => expectAccepted(v, portalAppointment()));

  it('accepts a booked appointment with start and end', () => {
    const a = { ...portalAppointment(), status: 'booked' as const, start: '2024-06-10T09:00:00Z', end: '2024-06-10T09:20:00Z' };
    expectAccepted(v, a);
  });

  it('rejects a missing appointmentType (cardinality 1..1)', () => {
    const a = portalAppointment();
    delete a.appointmentType;
    expectRejected(v, a, 422, { code: 'required', expression: 'Appointment.appointmentType', diagnostics: /minimum required = 1/ });
  });

  it('rejects an appointmentType coded outside HL7 v2 table 0276 (pattern)', () => {
    const a = { ...portalAppointment(), appointmentType: { coding: [{ system: 'http://example.org/types', code: 'FOLLOWUP' }] } };
    expectRejected(v, a, 422, { code: 'value', expression: 'Appointment.appointmentType', diagnostics: /pattern/ });
  });

  it('rejects an emergency appointment type (required binding)', () => {
    const a = { ...portalAppointment(), appointmentType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: 'EMERGENCY' }] } };
    expectRejected(v, a, 422, { code: 'code-invalid', expression: 'Appointment.appointmentType', diagnostics: /portal-appointment-type/ });
  });

  it('rejects a proposal without requested periods (invariant pappt-1)', () => {
    const a = portalAppointment();
    delete a.requestedPeriod;
    expectRejected(v, a, 422, { code: 'invariant', expression: 'Appointment', diagnostics: /pappt-1/ });
  });

  it('rejects an appointment without the patient among participants (invariant pappt-2)', () => {
    const a = { ...portalAppointment(), participant: [{ actor: { reference: 'Practitioner/dr1' }, status: 'accepted' as const }] };
    expectRejected(v, a, 422, { code: 'invariant', diagnostics: /pappt-2/ });
  });

  it('rejects a cancellation without a reason (invariant pappt-3)', () => {
    const a = { ...portalAppointment(), status: 'cancelled' as const };
    expectRejected(v, a, 422, { code: 'invariant', diagnostics: /pappt-3/ });
  });

  it('rejects an appointment ending before it starts (invariant pappt-4)', () => {
    const a = { ...portalAppointment(), status: 'booked' as const, start: '2024-06-10T10:00:00Z', end: '2024-06-10T09:00:00Z' };
    expectRejected(v, a, 422, { code: 'invariant', diagnostics: /pappt-4/ });
  });

  it('rejects a participant without an actor (cardinality of a nested element)', () => {
    const a = { ...portalAppointment(), participant: [...portalAppointment().participant, { status: 'accepted' as const, required: 'required' as const }] };
    expectRejected(v, a, 422, { code: 'required', expression: 'Appointment.participant[2].actor' });
  });

  it('rejects a wrong type as a structural error (400)', () => {
    expectRejected(v, { ...portalAppointment(), created: 20240601 }, 400, { code: 'structure', expression: 'Appointment.created' });
  });

  it('rejects an unknown element as a structural error (400)', () => {
    expectRejected(v, { ...portalAppointment(), requestedBy: 'me' }, 400, { code: 'structure', expression: 'Appointment.requestedBy' });
  });
});

describe('portal-communication profile', () => {
  it('accepts a sent portal message', () => expectAccepted(v, portalCommunication()));

  it('rejects a message without a subject patient (cardinality)', () => {
    const c = portalCommunication();
    delete c.subject;
    expectRejected(v, c, 422, { code: 'required', expression: 'Communication.subject' });
  });

  it('rejects a message without a subject line (nested cardinality topic.text)', () => {
    expectRejected(v, { ...portalCommunication(), topic: { coding: [{ code: 'x' }] } }, 422, { code: 'required', expression: 'Communication.topic.text' });
  });

  it('rejects a category outside the portal code system (pattern)', () => {
    const c = { ...portalCommunication(), category: [{ coding: [{ system: 'http://example.org', code: 'billing' }] }] };
    expectRejected(v, c, 422, { code: 'value', expression: 'Communication.category[0]', diagnostics: /pattern/ });
  });

  it('rejects an unknown portal category code (required binding)', () => {
    const c = { ...portalCommunication(), category: [{ coding: [{ system: 'https://health-records.dev/fhir/CodeSystem/portal-message-category', code: 'gossip' }] }] };
    expectRejected(v, c, 422, { code: 'code-invalid', expression: 'Communication.category[0]' });
  });

  it('rejects a status the portal does not use (required binding on a code)', () => {
    expectRejected(v, { ...portalCommunication(), status: 'on-hold' as const }, 422, { code: 'code-invalid', expression: 'Communication.status' });
  });

  it('rejects a message with no text part (invariant pcomm-1)', () => {
    const c = { ...portalCommunication(), payload: [{ contentAttachment: { contentType: 'image/png', url: 'Binary/1' } }] };
    expectRejected(v, c, 422, { code: 'invariant', diagnostics: /pcomm-1/ });
  });

  it('rejects a sent message without a sent time (invariant pcomm-2)', () => {
    const c = portalCommunication();
    delete c.sent;
    expectRejected(v, c, 422, { code: 'invariant', diagnostics: /pcomm-2/ });
  });

  it('rejects two senders (maximum cardinality is enforced by structure: sender is not an array)', () => {
    expectRejected(v, { ...portalCommunication(), sender: [{ reference: 'Patient/p1' }] }, 400, { code: 'structure', expression: 'Communication.sender' });
  });
});

describe('patient-statement profile', () => {
  it('accepts an issued statement', () => expectAccepted(v, patientStatement()));

  it('rejects a statement without line items (cardinality)', () => {
    const s = patientStatement();
    delete s.lineItem;
    expectRejected(v, s, 422, { code: 'required', expression: 'Invoice.lineItem' });
  });

  it('rejects a totalGross without currency (nested cardinality)', () => {
    expectRejected(v, { ...patientStatement(), totalGross: { value: 40 } }, 422, { code: 'required', expression: 'Invoice.totalGross.currency' });
  });

  it('rejects another invoice type (pattern)', () => {
    const s = { ...patientStatement(), type: { coding: [{ system: 'https://health-records.dev/fhir/CodeSystem/invoice-type', code: 'insurer-claim' }] } };
    expectRejected(v, s, 422, { code: 'value', expression: 'Invoice.type', diagnostics: /patient-statement/ });
  });

  it('rejects a draft statement (required binding)', () => {
    expectRejected(v, { ...patientStatement(), status: 'draft' as const }, 422, { code: 'code-invalid', expression: 'Invoice.status' });
  });

  it('rejects mixed currencies (invariant pstmt-2)', () => {
    expectRejected(v, { ...patientStatement(), totalGross: { value: 40, currency: 'EUR' } }, 422, { code: 'invariant', diagnostics: /pstmt-2/ });
  });

  it('rejects a cancelled statement without a reason (invariant pstmt-1)', () => {
    expectRejected(v, { ...patientStatement(), status: 'cancelled' as const }, 422, { code: 'invariant', diagnostics: /pstmt-1/ });
  });

  it('rejects duplicate line sequence numbers (invariant pstmt-3)', () => {
    const s = patientStatement();
    s.lineItem = [s.lineItem![0], { ...s.lineItem![0] }];
    expectRejected(v, s, 422, { code: 'invariant', diagnostics: /pstmt-3/ });
  });

  it('rejects a non-positive sequence number (primitive rule of positiveInt, 400)', () => {
    const s = patientStatement();
    s.lineItem![0].sequence = 0;
    expectRejected(v, s, 400, { code: 'value', expression: 'Invoice.lineItem[0].sequence' });
  });
});

describe('proxy-consent profile', () => {
  it('accepts a grant to a RelatedPerson', () => expectAccepted(v, proxyConsent()));

  it('rejects a grant without a period start (nested cardinality)', () => {
    const c = proxyConsent();
    c.provision!.period = { end: '2025-01-01' };
    expectRejected(v, c, 422, { code: 'required', expression: 'Consent.provision.period.start' });
  });

  it('rejects nested provisions (maximum cardinality 0)', () => {
    const c = proxyConsent();
    c.provision!.provision = [{ type: 'deny' }];
    expectRejected(v, c, 422, { code: 'structure', expression: 'Consent.provision.provision', diagnostics: /maximum allowed = 0/ });
  });

  it('rejects a deny provision (fixed value)', () => {
    const c = proxyConsent();
    c.provision!.type = 'deny';
    expectRejected(v, c, 422, { code: 'value', expression: 'Consent.provision.type', diagnostics: /exactly "permit"/ });
  });

  it('rejects another scope (pattern)', () => {
    const c = { ...proxyConsent(), scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] } };
    expectRejected(v, c, 422, { code: 'value', expression: 'Consent.scope' });
  });

  it('rejects a data class the portal does not grant (required binding on a Coding)', () => {
    const c = proxyConsent();
    c.provision!.class = [{ system: 'http://hl7.org/fhir/resource-types', code: 'AuditEvent' }];
    expectRejected(v, c, 422, { code: 'code-invalid', expression: 'Consent.provision.class[0]' });
  });

  it('rejects an action outside access/correct (required binding on a CodeableConcept)', () => {
    const c = proxyConsent();
    c.provision!.action = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'disclose' }] }];
    expectRejected(v, c, 422, { code: 'code-invalid', expression: 'Consent.provision.action[0]' });
  });

  it('rejects a grantee that is not a RelatedPerson (invariant pcons-1)', () => {
    const c = proxyConsent();
    c.provision!.actor![0].reference = { reference: 'Practitioner/dr1' };
    expectRejected(v, c, 422, { code: 'invariant', diagnostics: /pcons-1/ });
  });

  it('accepts an unresolved urn:uuid grantee inside a transaction', () => {
    const c = proxyConsent();
    c.provision!.actor![0].reference = { reference: 'urn:uuid:0d4b2f3e-41a8-4f39-9c7f-5d8d2c7b1a10' };
    expectAccepted(v, c);
  });

  it('rejects a period that ends before it starts (invariant pcons-2)', () => {
    const c = proxyConsent();
    c.provision!.period = { start: '2025-01-01', end: '2024-01-01' };
    expectRejected(v, c, 422, { code: 'invariant', diagnostics: /pcons-2/ });
  });

  it('reports every violation at once, each with its location', () => {
    const c = proxyConsent();
    delete c.patient;
    c.provision!.type = 'deny';
    const errors = v.validate(c).filter((i) => i.severity === 'error');
    expect(errors.map((e) => e.expression?.[0])).to.include.members(['Consent.patient', 'Consent.provision.type']);
  });
});
