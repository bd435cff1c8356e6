// Structural validation against the official R4 JSON schema: what is not an R4 resource is a 400
// with one located issue per problem. See: https://hl7.org/fhir/R4/json.html
import { expect } from 'chai';
import { OperationOutcomeError } from '../src/fhir/outcome.ts';
import type { ResourceValidator } from '../src/fhir/validate/index.ts';
import { expectAccepted, expectRejected, testValidator } from './fixtures/validator.ts';

let v: ResourceValidator;
before(async () => {
  v = await testValidator();
});

const patient = () => ({ resourceType: 'Patient', name: [{ family: 'Rivera', given: ['Ana'] }], gender: 'female', birthDate: '1984-03-12' });

describe('structural validation (R4 JSON schema)', () => {
  it('accepts a minimal valid resource of any R4 type', () => {
    expectAccepted(v, patient());
    expectAccepted(v, { resourceType: 'Basic', code: { text: 'note' } });
    expectAccepted(v, { resourceType: 'Immunization', status: 'completed', vaccineCode: { text: 'flu' }, patient: { reference: 'Patient/1' }, occurrenceDateTime: '2024-10-01' });
  });

  it('rejects a body without resourceType', () => {
    expectRejected(v, { name: [{ family: 'x' }] }, 400, { code: 'required', diagnostics: /Missing resourceType/ });
  });

  it('rejects an unknown resource type', () => {
    expectRejected(v, { resourceType: 'Patientt' }, 400, { code: 'not-supported', diagnostics: /Unknown resource type 'Patientt'/ });
  });

  it('rejects a JSON value that is not an object', () => {
    expectRejected(v, [patient()], 400, { code: 'structure', diagnostics: /JSON object/ });
  });

  it('names an unknown element and where it is', () => {
    const issue = expectRejected(v, { ...patient(), name: [{ family: 'x', nickname: 'y' }] }, 400, { code: 'structure', expression: 'Patient.name[0].nickname' });
    expect(issue.diagnostics).to.match(/Unknown element 'nickname'/);
  });

  it('names a wrong type with its FHIRPath location', () => {
    const issue = expectRejected(v, { ...patient(), name: [{ family: 'x', given: ['a', 7] }] }, 400, { code: 'structure', expression: 'Patient.name[0].given[1]' });
    expect(issue.diagnostics).to.match(/expected string, got number/);
  });

  it('rejects a string where an object is expected', () => {
    expectRejected(v, { ...patient(), name: ['Ana Rivera'] }, 400, { code: 'structure', expression: 'Patient.name[0]', diagnostics: /expected an object/ });
  });

  it('rejects a single value where the element repeats', () => {
    expectRejected(v, { ...patient(), name: { family: 'x' } }, 400, { code: 'structure', expression: 'Patient.name', diagnostics: /expected array/ });
  });

  it('checks primitive formats: date, dateTime, instant, id, code, uri', () => {
    expectRejected(v, { ...patient(), birthDate: '12/03/1984' }, 400, { code: 'value', expression: 'Patient.birthDate', diagnostics: /Invalid date value/ });
    expectRejected(v, { ...patient(), deceasedDateTime: '2024-01-01T10:00' }, 400, { code: 'value', expression: 'Patient.deceasedDateTime', diagnostics: /dateTime/ });
    expectRejected(v, { ...patient(), meta: { lastUpdated: '2024-01-01' } }, 400, { code: 'value', expression: 'Patient.meta.lastUpdated', diagnostics: /instant/ });
    expectRejected(v, { ...patient(), id: 'has space' }, 400, { code: 'value', expression: 'Patient.id', diagnostics: /id value/ });
    expectRejected(v, { ...patient(), language: 'en US  x' }, 400, { code: 'value', expression: 'Patient.language', diagnostics: /code value/ });
    expectRejected(v, { ...patient(), implicitRules: 'http://a b' }, 400, { code: 'value', expression: 'Patient.implicitRules', diagnostics: /uri value/ });
  });

  it('rejects dates that do not exist on the calendar', () => {
    expectRejected(v, { ...patient(), birthDate: '2023-02-29' }, 400, { code: 'value', expression: 'Patient.birthDate', diagnostics: /no such calendar day/ });
    expectAccepted(v, { ...patient(), birthDate: '2024-02-29' });
  });

  it('checks integer kinds: integer, positiveInt, unsignedInt', () => {
    expectRejected(v, { ...patient(), multipleBirthInteger: 1.5 }, 400, { code: 'structure', expression: 'Patient.multipleBirthInteger' });
    expectRejected(v, { resourceType: 'Invoice', status: 'issued', lineItem: [{ sequence: 0, chargeItemCodeableConcept: { text: 'x' } }] }, 400, { code: 'value', expression: 'Invoice.lineItem[0].sequence' });
    expectRejected(v, { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' }, medicationCodeableConcept: { text: 'x' }, dispenseRequest: { numberOfRepeatsAllowed: -1 } }, 400, { code: 'value', expression: 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed' });
  });

  it('rejects empty strings, arrays and objects (FHIR JSON has no empty values)', () => {
    expectRejected(v, { ...patient(), name: [{ family: '' }] }, 400, { code: 'value', expression: 'Patient.name[0].family', diagnostics: /Empty string/ });
    expectRejected(v, { ...patient(), telecom: [] }, 400, { code: 'structure', expression: 'Patient.telecom', diagnostics: /Empty array/ });
    expectRejected(v, { ...patient(), maritalStatus: {} }, 400, { code: 'structure', expression: 'Patient.maritalStatus', diagnostics: /Empty object/ });
  });

  it('rejects a code outside the values the schema lists for a required binding', () => {
    expectRejected(v, { ...patient(), gender: 'F' }, 400, { code: 'code-invalid', expression: 'Patient.gender', diagnostics: /male, female, other, unknown/ });
  });

  it('rejects a missing element the base specification requires', () => {
    expectRejected(v, { resourceType: 'Observation', code: { text: 'x' } }, 400, { code: 'required', expression: 'Observation.status' });
  });

  it('accepts primitive extensions with null placeholders in arrays', () => {
    expectAccepted(v, { ...patient(), name: [{ given: ['Ana', null], _given: [null, { extension: [{ url: 'http://example.org/x', valueString: 'y' }] }] }] });
  });

  it('validates contained resources with their own type, located inside the container', () => {
    const r = { ...patient(), contained: [{ resourceType: 'Organization', id: 'o1', name: 'Clinic', colour: 'red' }] };
    expectRejected(v, r, 400, { code: 'structure', expression: 'Patient.contained[0].colour' });
    expectRejected(v, { ...patient(), contained: [{ resourceType: 'Nope', id: 'x' }] }, 400, { expression: 'Patient.contained[0]', diagnostics: /unknown resource type/ });
  });

  it('validates the resources inside a Bundle', () => {
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', birthDate: 'yesterday' }, request: { method: 'POST', url: 'Patient' } }] };
    expectRejected(v, bundle, 400, { code: 'value', expression: 'Bundle.entry[0].resource.birthDate' });
  });

  it('reports all problems at once', () => {
    const issues = v.validate({ ...patient(), foo: 1, gender: 'x', birthDate: '1984-13-01' }).filter((i) => i.severity === 'error');
    expect(issues.map((i) => i.expression?.[0])).to.have.members(['Patient.foo', 'Patient.gender', 'Patient.birthDate']);
  });
});

describe('assertValid', () => {
  it('throws an OperationOutcomeError with status 400 and only errors for structural problems', () => {
    try {
      v.assertValid({ ...patient(), foo: 1, meta: { profile: ['http://example.org/unknown'] } });
      expect.fail('should have thrown');
    } catch (err) {
      expect(err).to.be.instanceOf(OperationOutcomeError);
      const e = err as OperationOutcomeError;
      expect(e.status).to.equal(400);
      expect(e.outcome.resourceType).to.equal('OperationOutcome');
      expect(e.outcome.issue.every((i) => i.severity === 'error')).to.equal(true);
      expect(e.outcome.issue[0].expression).to.deep.equal(['Patient.foo']);
    }
  });

  it('checks the type and id the URL names', () => {
    expect(() => v.assertValid(patient(), { expectedType: 'Observation' })).to.throw(OperationOutcomeError, /does not match the type in the URL/);
    expect(() => v.assertValid({ ...patient(), id: 'a' }, { expectedType: 'Patient', expectedId: 'b' })).to.throw(OperationOutcomeError, /does not match the id in the URL/);
    expect(() => v.assertValid(patient(), { expectedId: 'b' })).to.throw(OperationOutcomeError, /has no id/);
    expect(v.assertValid({ ...patient(), id: 'b' }, { expectedType: 'Patient', expectedId: 'b' }).resourceType).to.equal('Patient');
  });

  it('keeps warnings out of the thrown errors and accepts a resource that only has warnings', () => {
    const r = { ...patient(), meta: { profile: ['http://example.org/unknown'] } };
    expect(() => v.assertValid(r)).to.not.throw();
    expect(v.validate(r).map((i) => i.severity)).to.deep.equal(['warning']);
  });
});
