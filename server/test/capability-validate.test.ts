// The CapabilityStatement says what the server does, and $validate checks without storing.
import { expect } from 'chai';
import { FhirTestClient as Client } from './support/fhir-client.ts';
import type { Bundle, CapabilityStatement, OperationOutcome } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

describe('FHIR REST: metadata', () => {
  let fhirUrl: string;
  let cs: CapabilityStatement;
  before(async () => {
    ({ fhirUrl } = await testServer());
    cs = (await new Client(fhirUrl).capabilityStatement()) as CapabilityStatement;
  });

  it('describes an R4 JSON server with transactions, batch and system history', () => {
    expect(cs.resourceType).to.equal('CapabilityStatement');
    expect(cs.fhirVersion).to.equal('4.0.1');
    expect(cs.kind).to.equal('instance');
    expect(cs.format).to.include('application/fhir+json');
    expect(cs.format).to.not.include('xml');
    expect(cs.patchFormat).to.deep.equal(['application/json-patch+json']);
    const system = cs.rest![0].interaction!.map((i) => i.code);
    expect(system).to.include.members(['transaction', 'batch', 'history-system']);
    expect(cs.implementation?.url).to.equal(fhirUrl);
  });

  it('lists every R4 resource type with the interactions the router serves', () => {
    const resources = cs.rest![0].resource!;
    expect(resources.length).to.be.at.least(140);
    const patient = resources.find((r) => r.type === 'Patient')!;
    expect(patient.interaction!.map((i) => i.code)).to.include.members([
      'read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create',
    ]);
    expect(patient.versioning).to.equal('versioned-update');
    expect(patient.updateCreate).to.equal(true);
    expect(patient.operation?.map((o) => o.name)).to.include('validate');
    const appointment = resources.find((r) => r.type === 'Appointment')!;
    expect(appointment.supportedProfile).to.include('https://health-records.dev/fhir/StructureDefinition/portal-appointment');
  });

  it('each claim it makes can be exercised: every listed type accepts a read of a missing id with 404', async () => {
    const types = cs.rest![0].resource!.map((r) => r.type);
    for (const type of types.slice(0, 200)) {
      const res = await fhirFetch(`${fhirUrl}/${type}/missing-id`);
      expect(res.status, type).to.equal(404);
    }
  });

  it('declares the search parameters the search engine answers, and history at type level works', async () => {
    const patient = cs.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(patient.interaction!.map((i) => i.code)).to.include('search-type');
    const names = patient.searchParam!.map((p) => p.name);
    expect(names).to.include.members(['identifier', 'name', 'birthdate']);
    expect(patient.conditionalCreate).to.equal(true);
    expect(patient.conditionalDelete).to.equal('single');
    const history = await fhirFetch<Bundle>(`${fhirUrl}/Patient/_history?_count=1`);
    expect(history.status).to.equal(200);
  });

  it('declares _include and _revinclude per type, and search accepts every value declared for Patient', async () => {
    const resources = cs.rest![0].resource!;
    const patient = resources.find((r) => r.type === 'Patient')!;
    expect(patient.searchInclude).to.include.members(['*', 'Patient:organization', 'Patient:general-practitioner', 'Patient:link']);
    expect(patient.searchRevInclude).to.include.members(['Observation:subject', 'Observation:patient', 'Encounter:patient', 'Appointment:actor']);
    // Parameters that may point at any type are named once, not under each of the 146 types.
    expect(patient.searchRevInclude).to.not.include('Provenance:target');
    expect(cs.rest![0].documentation).to.match(/_revinclude takes these parameters.*Provenance:target/);
    const observation = resources.find((r) => r.type === 'Observation')!;
    expect(observation.searchInclude).to.include.members(['*', 'Observation:subject', 'Observation:performer']);
    expect(observation.searchRevInclude).to.include('Observation:has-member');
    // Each claim can be exercised.
    for (const value of patient.searchInclude!) {
      const res = await fhirFetch(`${fhirUrl}/Patient?_include=${encodeURIComponent(value)}&_count=1`);
      expect(res.status, `_include=${value}: ${res.text.slice(0, 200)}`).to.equal(200);
    }
    for (const value of [...patient.searchRevInclude!, 'Provenance:target']) {
      const res = await fhirFetch(`${fhirUrl}/Patient?_revinclude=${encodeURIComponent(value)}&_count=1`);
      expect(res.status, `_revinclude=${value}: ${res.text.slice(0, 200)}`).to.equal(200);
    }
  });

  it('answers _summary and _elements on metadata like a read; _summary=count is a 400', async () => {
    const full = await fhirFetch<CapabilityStatement>(`${fhirUrl}/metadata`);
    const summary = await fhirFetch<CapabilityStatement>(`${fhirUrl}/metadata?_summary=true`);
    expect(summary.status).to.equal(200);
    // The summary keeps each type's name, profiles and operations, not its search parameters.
    expect(summary.text.length).to.be.below(full.text.length / 10);
    expect(summary.body.meta?.tag?.map((t) => t.code)).to.include('SUBSETTED');
    expect(summary.body.fhirVersion).to.equal('4.0.1');
    const patient = summary.body.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(Object.keys(patient).sort()).to.deep.equal(['operation', 'supportedProfile', 'type']);
    const appointment = summary.body.rest![0].resource!.find((r) => r.type === 'Appointment')!;
    expect(appointment.supportedProfile).to.include('https://health-records.dev/fhir/StructureDefinition/portal-appointment');
    const elements = await fhirFetch<CapabilityStatement>(`${fhirUrl}/metadata?_elements=software`);
    expect(Object.keys(elements.body).sort()).to.deep.equal(['date', 'fhirVersion', 'format', 'kind', 'meta', 'resourceType', 'software', 'status']);
    const count = await fhirFetch(`${fhirUrl}/metadata?_summary=count`);
    expect(count.status).to.equal(400);
    expect(count.text).to.match(/_summary=count applies to searches/);
    // The full statement is unchanged by the shaped ones (it is built once and kept).
    expect((await fhirFetch(`${fhirUrl}/metadata`)).text.replace(/"date":"[^"]*"/, '')).to.equal(full.text.replace(/"date":"[^"]*"/, ''));
  });
});

describe('FHIR REST: $validate', () => {
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  async function versionsOf(type: string): Promise<number> {
    return (await fhirFetch<Bundle>(`${fhirUrl}/${type}/_history?_count=0`)).body.total!;
  }

  it('answers an OperationOutcome for a valid resource and stores nothing', async () => {
    const before = await versionsOf('Patient');
    const res = await fhirFetch<OperationOutcome>(`${fhirUrl}/Patient/$validate`, {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: 'Valid' }] },
    });
    expect(res.status).to.equal(200);
    expect(res.body.issue.filter((i) => i.severity === 'error')).to.have.length(0);
    expect(await versionsOf('Patient')).to.equal(before);
  });

  it('lists the errors of an invalid resource with their locations, also inside Parameters', async () => {
    const direct = await fhirFetch<OperationOutcome>(`${fhirUrl}/Patient/$validate`, {
      method: 'POST',
      body: { resourceType: 'Patient', gender: 'sometimes' },
    });
    expect(direct.status).to.equal(200);
    const errors = direct.body.issue.filter((i) => i.severity === 'error');
    expect(errors.length).to.be.at.least(1);
    expect(errors.flatMap((e) => e.expression ?? []).join(' ')).to.contain('Patient.gender');
    const wrapped = await fhirFetch<OperationOutcome>(`${fhirUrl}/Patient/$validate`, {
      method: 'POST',
      body: {
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'sometimes' } }],
      },
    });
    expect(wrapped.body.issue.some((i) => i.severity === 'error')).to.equal(true);
  });

  it('at instance level checks the id, and mode=delete checks the resource exists', async () => {
    const p = (await fhirFetch<{ id: string }>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient' } })).body;
    const mismatch = await fhirFetch<OperationOutcome>(`${fhirUrl}/Patient/${p.id}/$validate`, {
      method: 'POST',
      body: { resourceType: 'Patient', id: 'other' },
    });
    expect(mismatch.body.issue.some((i) => i.severity === 'error' && /id/.test(i.diagnostics ?? ''))).to.equal(true);
    const del = await fhirFetch(`${fhirUrl}/Patient/${p.id}/$validate?mode=delete`, { method: 'POST', raw: '' });
    expect(del.status).to.equal(200);
    const missing = await fhirFetch(`${fhirUrl}/Patient/nobody/$validate?mode=delete`, { method: 'POST', raw: '' });
    expect(missing.status).to.equal(404);
  });

  it('checks a profile named in the profile parameter', async () => {
    const appointment = { resourceType: 'Appointment', status: 'proposed', participant: [{ status: 'needs-action' }] };
    const plain = await fhirFetch<OperationOutcome>(`${fhirUrl}/Appointment/$validate`, { method: 'POST', body: appointment });
    expect(plain.body.issue.filter((i) => i.severity === 'error')).to.have.length(0);
    const profile = 'https://health-records.dev/fhir/StructureDefinition/portal-appointment';
    const checked = await fhirFetch<OperationOutcome>(`${fhirUrl}/Appointment/$validate?profile=${encodeURIComponent(profile)}`, {
      method: 'POST',
      body: appointment,
    });
    expect(checked.body.issue.filter((i) => i.severity === 'error').length).to.be.at.least(1);
  });

  it('rejects a body of another type and GET', async () => {
    const other = await fhirFetch(`${fhirUrl}/Patient/$validate`, { method: 'POST', body: { resourceType: 'Observation' } });
    expect(other.status).to.equal(400);
    const get = await fhirFetch(`${fhirUrl}/Patient/$validate`);
    expect(get.status).to.equal(405);
  });
});
