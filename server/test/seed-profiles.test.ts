// Every generated resource conforms to the profiles it claims (US Core 5.0.1 and the portal's
// own), checked with the server's validator with REQUIRE_PROFILES on, so the seed data passes
// whatever the server is configured to demand.
import { expect } from 'chai';
import path from 'node:path';
import type { FhirResource } from 'fhir/r4';
import { buildDemoSet } from '../../seed-data/demo-set.ts';
import { SeedGenerator } from '../../seed-data/generator.ts';
import { createValidator, type ResourceValidator } from '../../server/src/fhir/validate/index.ts';

const profilesDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'fhir-profiles');

function problems(validator: ResourceValidator, resources: Iterable<FhirResource>): string[] {
  const out: string[] = [];
  for (const resource of resources) {
    const claimed = resource.meta?.profile ?? [];
    for (const issue of validator.validate(resource)) {
      // Information-level notes are fine; errors and warnings (e.g. an unknown claimed profile) are not.
      if (issue.severity === 'information') continue;
      out.push(`${resource.resourceType}/${resource.id} [${claimed.join(' ')}] ${issue.severity}: ${issue.diagnostics ?? issue.details?.text} @ ${(issue.expression ?? []).join(',')}`);
    }
  }
  return out;
}

describe('seed data: every resource validates against the profiles', function () {
  this.timeout(120_000);
  let validator: ResourceValidator;

  before(async () => {
    validator = await createValidator({ requireProfiles: true, profilesDir });
  });

  it('the committed demo set: no errors and no warnings', () => {
    const { files } = buildDemoSet();
    const resources = files.flatMap((f) => f.bundle.entry.map((e) => e.resource!));
    expect(resources.length).to.be.greaterThan(2000);
    expect(problems(validator, resources)).to.deep.equal([]);
  });

  it('randomly generated patients of another seed and reference date: no errors and no warnings', () => {
    const generator = new SeedGenerator({ seed: 'profiles', now: new Date('2028-02-14T17:00:00Z'), practitioners: 24 });
    const found = problems(validator, generator.clinicBundle().entry.map((e) => e.resource!));
    for (const { bundle } of generator.patientBundles(40)) found.push(...problems(validator, bundle.entry.map((e) => e.resource!)));
    expect(found.slice(0, 20)).to.deep.equal([]);
  });

  it('the check is not vacuous: a generated resource broken against its profile is reported', () => {
    const bundle = new SeedGenerator({ seed: 'profiles' }).patientBundle(0);
    const message = structuredClone(bundle.entry.find((e) => e.resource!.resourceType === 'Communication' || e.resource!.resourceType === 'Appointment')!.resource!);
    delete (message as { subject?: unknown; created?: unknown }).subject;
    delete (message as { subject?: unknown; created?: unknown }).created;
    expect(problems(validator, [message])).to.have.length.greaterThan(0);
  });

  it('the six central types claim a portal-ready profile', () => {
    const central = new Set(['Patient', 'Observation', 'MedicationRequest', 'Appointment', 'Communication', 'Invoice']);
    const generator = new SeedGenerator({ seed: 'claims' });
    for (const { bundle } of generator.patientBundles(5)) {
      for (const e of bundle.entry) {
        if (central.has(e.resource!.resourceType)) expect(e.resource!.meta?.profile, e.resource!.resourceType).to.have.length(1);
      }
    }
  });
});
