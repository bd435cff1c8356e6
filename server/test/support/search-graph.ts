// A server of its own (own database, optionally its own search limits) and a graph of clinical
// resources to search: patients with their organization and practitioners, encounters,
// observations of realistic shape and size (subject, encounter, performer, hasMember, a panel
// of components: about 3 KB of JSON in a hundred small elements), and provenance
// records pointing at observations. Loaded through transactions, over HTTP.
import { expect } from 'chai';
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4';
import type { SearchLimits, ServerConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { fhirFetch } from './http.ts';
import { startTestServerWith, testConfig } from './test-server.ts';

/** Starts a server with its own database; `limits` override the configured search limits. */
export async function startSearchServer(limits: Partial<SearchLimits> = {}, overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const base = await testConfig(overrides);
  const config = { ...base, searchLimits: { ...base.searchLimits, ...limits } };
  return startTestServerWith(config);
}

export interface GraphSize {
  patients: number;
  practitioners: number;
  encounters: number;
  observations: number;
  provenances: number;
}

/** A panel component, structured as the demo data's are (many small elements, as a database decodes them). */
const component = (i: number, k: number) => ({
  code: { coding: [{ system: 'http://loinc.org', code: `${1000 + k}-${k % 10}`, display: `Component ${k}` }], text: `Component ${k}` },
  valueQuantity: { value: 50 + ((i + k) % 50), unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'N', display: 'Normal' }] }],
  referenceRange: [{ low: { value: 40, unit: 'mmHg' }, high: { value: 120, unit: 'mmHg' }, text: 'adult' }],
});

export function graphResources(size: GraphSize): FhirResource[] {
  const out: FhirResource[] = [{ resourceType: 'Organization', id: 'org', name: 'Graph Clinic' }];
  for (let i = 0; i < size.practitioners; i++) {
    out.push({ resourceType: 'Practitioner', id: `pr-${i}`, name: [{ family: `Doctor${i}` }] });
  }
  for (let i = 0; i < size.patients; i++) {
    out.push({
      resourceType: 'Patient',
      id: `p-${i}`,
      name: [{ family: `Graph${i}`, given: ['Test'] }],
      managingOrganization: { reference: 'Organization/org' },
      generalPractitioner: [{ reference: `Practitioner/pr-${i % size.practitioners}` }],
    });
  }
  for (let i = 0; i < size.encounters; i++) {
    out.push({
      resourceType: 'Encounter',
      id: `e-${i}`,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/p-${i % size.patients}` },
      participant: [{ individual: { reference: `Practitioner/pr-${i % size.practitioners}` } }],
      serviceProvider: { reference: 'Organization/org' },
    });
  }
  for (let i = 0; i < size.observations; i++) {
    const hasMember = i % 10 === 0 ? [1, 2, 3].filter((k) => i + k < size.observations).map((k) => ({ reference: `Observation/o-${i + k}` })) : undefined;
    out.push({
      resourceType: 'Observation',
      id: `o-${i}`,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: `Patient/p-${i % size.patients}` },
      encounter: { reference: `Encounter/e-${i % size.encounters}` },
      performer: [{ reference: `Practitioner/pr-${i % size.practitioners}` }],
      effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
      identifier: [{ system: 'urn:test:observation', value: `o-${i}` }],
      component: [0, 1, 2, 3, 4, 5].map((k) => component(i, k)),
      ...(hasMember ? { hasMember } : {}),
    });
  }
  for (let i = 0; i < size.provenances; i++) {
    out.push({
      resourceType: 'Provenance',
      id: `prov-${i}`,
      target: [{ reference: `Observation/o-${i % size.observations}` }],
      recorded: '2024-01-01T00:00:00Z',
      agent: [{ who: { reference: `Practitioner/pr-${i % size.practitioners}` } }],
    });
  }
  return out;
}

/** Stores the resources with PUT (their ids kept), in transactions of up to 500 entries. */
export async function loadResources(fhirUrl: string, resources: FhirResource[]): Promise<void> {
  for (let i = 0; i < resources.length; i += 500) {
    const entry: BundleEntry[] = resources.slice(i, i + 500).map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    }));
    const res = await fhirFetch<Bundle>(fhirUrl, { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry } });
    expect(res.status, res.text.slice(0, 300)).to.equal(200);
  }
}
