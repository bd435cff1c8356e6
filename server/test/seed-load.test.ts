// The demo set and generated bundles loaded through the real HTTP API (fhir-kit-client against
// the test server and its database), as `npm start` and `npm run seed` do.
import { expect } from 'chai';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Observation, Patient } from 'fhir/r4';
import { DEMO_DIR, DEMO_MANIFEST } from '../../seed-data/demo-set.ts';
import { SeedGenerator } from '../../seed-data/generator.ts';
import { loadDemoData } from '../../seed-data/load-demo.ts';
import { loadBundles } from '../../seed-data/loader.ts';
import { fhirFetch } from './support/http.ts';
import { testServer } from './support/test-server.ts';
import { authorizationFor } from './support/test-auth.ts';

interface Manifest {
  patients: Array<{ file: string; patientId: string; mrn: string; name: string }>;
}

describe('seed data: loading through the FHIR API', function () {
  this.timeout(600_000);
  let fhirUrl: string;
  let manifest: Manifest;

  before(async () => {
    ({ fhirUrl } = await testServer());
    manifest = JSON.parse(await readFile(DEMO_MANIFEST, 'utf8')) as Manifest;
  });

  it('loads the committed demo set, and every demo patient can then be read and searched', async () => {
    const summary = await loadDemoData(fhirUrl, { headers: await authorizationFor(fhirUrl) });
    expect(summary.failed).to.equal(0);
    expect(summary.bundles).to.equal(manifest.patients.length + 1);

    const first = manifest.patients[0]!;
    const patient = await fhirFetch<Patient>(`${fhirUrl}/Patient/${first.patientId}`);
    expect(patient.status).to.equal(200);
    expect(patient.body.identifier?.[0]?.value).to.equal(first.mrn);

    // The in-bundle urn:uuid references were rewritten to the stored Patient.
    const a1c = await fhirFetch<Bundle>(`${fhirUrl}/Observation?patient=${first.patientId}&code=http://loinc.org|4548-4&_count=100`);
    expect(a1c.status).to.equal(200);
    const observations = (a1c.body.entry ?? []).map((e) => e.resource as Observation);
    expect(observations.length).to.be.greaterThan(3);
    for (const o of observations) expect(o.subject?.reference).to.equal(`Patient/${first.patientId}`);
  });

  it('loading a demo bundle again updates the same resources instead of duplicating them', async () => {
    // A folder holding the clinic and one patient, loaded through the same loadDemoData().
    const first = manifest.patients[0]!;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'seed-demo-'));
    try {
      for (const file of ['00-clinic.json', first.file]) await copyFile(path.join(DEMO_DIR, file), path.join(dir, file));
      const before = await fhirFetch<Bundle>(`${fhirUrl}/Patient?_summary=count`);
      // Loaded again a year later with the dates moved along (what npm start does on a fresh database).
      const summary = await loadDemoData(fhirUrl, { dir, rebaseTo: new Date('2027-11-20T12:00:00Z'), headers: await authorizationFor(fhirUrl) });
      expect(summary.bundles).to.equal(2);
      const after = await fhirFetch<Bundle>(`${fhirUrl}/Patient?_summary=count`);
      expect(after.body.total).to.equal(before.body.total);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const byMrn = await fhirFetch<Bundle>(`${fhirUrl}/Patient?identifier=https://health-records.dev/fhir/sid/mrn|${first.mrn}`);
    expect(byMrn.body.entry).to.have.length(1);
    const patient = await fhirFetch<Patient>(`${fhirUrl}/Patient/${first.patientId}`);
    expect(patient.body.meta?.versionId).to.equal('2');
    const committed = JSON.parse(await readFile(path.join(DEMO_DIR, first.file), 'utf8')) as Bundle;
    const birthDate = (committed.entry![0]!.resource as Patient).birthDate!;
    const shiftedDays = (Date.parse(patient.body.birthDate!) - Date.parse(birthDate)) / 86400000;
    expect(shiftedDays).to.equal(52 * 7);
  });

  it('loads generated patients with bounded concurrency (the npm run seed path)', async () => {
    const generator = new SeedGenerator({ seed: 'load-test', historyYears: 2 });
    await loadBundles([{ label: 'clinic', bundle: generator.clinicBundle() }], { url: fhirUrl, headers: await authorizationFor(fhirUrl) });
    const labelled = function* () {
      for (const { index, bundle } of generator.patientBundles(4)) yield { label: `patient ${index}`, bundle };
    };
    const progress: number[] = [];
    const summary = await loadBundles(labelled(), { url: fhirUrl, headers: await authorizationFor(fhirUrl), concurrency: 2, progressEvery: 1, onProgress: (p) => progress.push(p.bundles) });
    expect(summary.failed).to.equal(0);
    expect(summary.bundles).to.equal(4);
    expect(progress).to.deep.equal([1, 2, 3, 4]);
    const id = generator.patientRecord(2).patientId;
    expect((await fhirFetch(`${fhirUrl}/Patient/${id}`)).status).to.equal(200);
  });

  it('reports a rejected bundle with the server\'s OperationOutcome and stops', async () => {
    const generator = new SeedGenerator({ seed: 'load-test-bad', historyYears: 1 });
    const bundle = generator.patientBundle(0);
    const appointment = bundle.entry.find((e) => e.resource?.resourceType === 'Appointment')!;
    delete (appointment.resource as { created?: string }).created; // portal-appointment requires it
    let error: Error | undefined;
    try {
      await loadBundles([{ label: 'broken patient', bundle }], { url: fhirUrl, retries: 0, headers: await authorizationFor(fhirUrl) });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.match(/^broken patient: HTTP 4\d\d/);
    expect(error?.message).to.contain('created');
  });
});
