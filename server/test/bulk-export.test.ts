// Bulk Data export ($export) as an integrator uses it: backend-services tokens, kick-off at system,
// Patient and Group level, polling the status URL, the manifest, downloading the NDJSON files
// (ranges, gzip), cancel, the per-client job limit, and who may see what.
// Each test server has a database of its own, so counts are exact.
// See: https://hl7.org/fhir/uv/bulkdata/export.html
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CapabilityStatement, FhirResource, Observation, OperationOutcome, Patient } from 'fhir/r4';
import type { RunningServer } from '../src/server.ts';
import type { ServerConfig } from '../src/config.ts';
import { startTestServerWith, testConfig } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';
import { clientOf, eventsOfRequest, requestId } from './support/audit.ts';
import { bulkClient, download, exported, kickOff, waitForManifest, type BulkClient } from './support/bulk-export.ts';

/** Settings that keep the tests quick: short polls, small pages (several per type). */
async function exportConfig(bulk: Partial<ServerConfig['bulkExport']> = {}, databaseName?: string): Promise<ServerConfig> {
  const base = await testConfig();
  return {
    ...base,
    ...(databaseName ? { databaseName } : {}),
    bulkExport: { ...base.bulkExport, pageSize: 3, retryAfterSeconds: 1, minPollMs: 200, workerPollMs: 200, ...bulk },
  };
}

describe('Bulk Data export', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let fhir: string;
  let baseUrl: string;
  let system: BulkClient;
  const patients: string[] = [];
  const observations: string[] = [];

  const create = async <T extends FhirResource>(resource: T): Promise<string> => {
    const res = await fhirFetch<T>(`${fhir}/${resource.resourceType}`, { method: 'POST', body: resource });
    if (res.status !== 201) throw new Error(`creating ${resource.resourceType}: ${res.status} ${res.text}`);
    return res.body.id!;
  };
  const observation = (patient: string, code: string): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
    valueQuantity: { value: 5.5, unit: 'mmol/L' },
  });

  before(async () => {
    const config = await exportConfig();
    server = await startTestServerWith(config);
    baseUrl = config.baseUrl;
    fhir = `${baseUrl}/fhir`;
    for (const family of ['Ames', 'Brook', 'Cole', 'Dane']) {
      const id = await create<Patient>({ resourceType: 'Patient', name: [{ family }], gender: 'female', birthDate: '1970-01-01' });
      patients.push(id);
      for (const code of ['2339-0', '4548-4']) observations.push(await create(observation(id, code)));
    }
    await create({ resourceType: 'Organization', name: 'Riverbend' });
    system = await bulkClient(server, config.baseUrl, 'system/*.rs');
  });
  after(async () => server?.close());

  it('exports every type the client may read, as of the kick-off, and lists each file with its count', async () => {
    const started = Date.now();
    const res = await kickOff(`${fhir}/$export`, system);
    expect(res.status).to.equal(202);
    const statusUrl = res.headers.get('content-location')!;
    expect(statusUrl).to.match(new RegExp(`^${fhir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/bulk-status/[0-9a-f]{32}$`));
    const { res: done, manifest } = await waitForManifest(statusUrl, system);
    expect(done.headers.get('content-type')).to.match(/^application\/json/);
    expect(Date.parse(done.headers.get('expires')!)).to.be.greaterThan(Date.now() + 23 * 3_600_000);
    expect(manifest.requiresAccessToken).to.equal(true);
    expect(manifest.request).to.equal(`${fhir}/$export`);
    expect(Date.parse(manifest.transactionTime)).to.be.within(started - 1000, Date.now());
    expect(manifest.error).to.deep.equal([]);
    const byType = await exported(manifest, system);
    expect([...byType.keys()].sort()).to.deep.equal(['Observation', 'Organization', 'Patient']);
    expect(byType.get('Patient')!.map((p) => p.id).sort()).to.deep.equal([...patients].sort());
    expect(byType.get('Observation')!.map((o) => o.id).sort()).to.deep.equal([...observations].sort());
    for (const o of manifest.output) expect(o.url).to.match(/^http:\/\/localhost:\d+\/fhir\/bulk-files\//);
  });

  it('serves a file as application/fhir+ndjson, by byte ranges (a download resumes), and gzipped when asked', async () => {
    const res = await kickOff(`${fhir}/$export?_type=Observation`, system);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, system);
    expect(manifest.output).to.have.length(1);
    const url = manifest.output[0].url;
    const whole = await download(url, system);
    expect(whole.res.status).to.equal(200);
    expect(whole.res.headers.get('content-type')).to.equal('application/fhir+ndjson');
    expect(whole.res.headers.get('accept-ranges')).to.equal('bytes');
    expect(whole.resources).to.have.length(8);
    const bytes = Buffer.from(whole.text, 'utf8');
    // Interrupted after 100 bytes: the rest, then a range in the middle crossing pages.
    const rest = await fetch(url, { headers: { authorization: `Bearer ${system.token}`, range: 'bytes=100-' } });
    expect(rest.status).to.equal(206);
    expect(rest.headers.get('content-range')).to.equal(`bytes 100-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.concat([bytes.subarray(0, 100), Buffer.from(await rest.arrayBuffer())]).equals(bytes)).to.equal(true);
    const middle = await fetch(url, { headers: { authorization: `Bearer ${system.token}`, range: `bytes=50-${bytes.length - 50}` } });
    expect(Buffer.from(await middle.arrayBuffer()).equals(bytes.subarray(50, bytes.length - 49))).to.equal(true);
    const beyond = await fetch(url, { headers: { authorization: `Bearer ${system.token}`, range: `bytes=${bytes.length}-` } });
    expect(beyond.status).to.equal(416);
    // fetch would undo gzip by itself; node's http shows what is sent.
    const gz = await import('node:http').then(
      (http) =>
        new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
          http
            .get(url, { headers: { authorization: `Bearer ${system.token}`, 'accept-encoding': 'gzip' } }, (r) => {
              const chunks: Buffer[] = [];
              r.on('data', (c: Buffer) => chunks.push(c));
              r.on('end', () => resolve({ encoding: r.headers['content-encoding'], body: Buffer.concat(chunks) }));
            })
            .on('error', reject);
        }),
    );
    expect(gz.encoding).to.equal('gzip');
    expect(gunzipSync(gz.body).equals(bytes)).to.equal(true);
  });

  it('refuses a kick-off without Prefer: respond-async or without Accept, with an OperationOutcome', async () => {
    const noPrefer = await fetch(`${fhir}/$export`, { headers: { authorization: `Bearer ${system.token}`, accept: 'application/fhir+json' } });
    expect(noPrefer.status).to.equal(400);
    expect(((await noPrefer.json()) as OperationOutcome).issue[0].diagnostics).to.match(/respond-async/);
    const noAccept = await fetch(`${fhir}/$export`, { headers: { authorization: `Bearer ${system.token}`, prefer: 'respond-async' } });
    expect(noAccept.status).to.equal(400);
    expect(((await noAccept.json()) as OperationOutcome).issue[0].diagnostics).to.match(/Accept/);
  });

  it('refuses an unknown parameter or _outputFormat, unless lenient handling is asked for', async () => {
    const unknown = await kickOff(`${fhir}/$export?_type=Patient&_colour=blue`, system);
    expect(unknown.status).to.equal(400);
    expect(((await unknown.json()) as OperationOutcome).issue[0].diagnostics).to.match(/_colour/);
    const format = await kickOff(`${fhir}/$export?_outputFormat=text/csv`, system);
    expect(format.status).to.equal(400);
    const associated = await kickOff(`${fhir}/$export?includeAssociatedData=LatestProvenanceResources`, system);
    expect(associated.status).to.equal(400);
    expect(((await associated.json()) as OperationOutcome).issue[0].diagnostics).to.match(/includeAssociatedData/);
    const lenient = await kickOff(`${fhir}/$export?_type=Patient&_colour=blue&_outputFormat=ndjson`, system, { prefer: 'respond-async, handling=lenient' });
    expect(lenient.status).to.equal(202);
    const { manifest } = await waitForManifest(lenient.headers.get('content-location')!, system);
    expect(manifest.output.map((o) => o.type)).to.deep.equal(['Patient']);
  });

  it('takes its parameters from a Parameters resource by POST', async () => {
    const res = await fetch(`${fhir}/Patient/$export`, {
      method: 'POST',
      headers: system.headers({ 'content-type': 'application/fhir+json' }),
      body: JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: '_type', valueString: 'Patient' },
          { name: 'patient', valueReference: { reference: `Patient/${patients[1]}` } },
        ],
      }),
    });
    expect(res.status, await res.clone().text()).to.equal(202);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, system);
    const byType = await exported(manifest, system);
    expect(byType.get('Patient')!.map((p) => p.id)).to.deep.equal([patients[1]]);
  });

  it('exports a Group\'s members\' records only, at Group level', async () => {
    const group = await create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${patients[0]}` } }, { entity: { reference: `Patient/${patients[2]}` } }] });
    const res = await kickOff(`${fhir}/Group/${group}/$export?_type=Patient,Observation`, system);
    expect(res.status).to.equal(202);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, system);
    const byType = await exported(manifest, system);
    expect(byType.get('Patient')!.map((p) => p.id).sort()).to.deep.equal([patients[0], patients[2]].sort());
    const subjects = new Set(byType.get('Observation')!.map((o) => (o as Observation).subject?.reference));
    expect([...subjects].sort()).to.deep.equal([`Patient/${patients[0]}`, `Patient/${patients[2]}`].sort());
    expect(byType.get('Observation')).to.have.length(4);
    const missing = await kickOff(`${fhir}/Group/no-such-group/$export`, system);
    expect(missing.status).to.equal(404);
  });

  it('exports the patients\' compartments at Patient level, not the directory', async () => {
    const res = await kickOff(`${fhir}/Patient/$export`, system);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, system);
    const byType = await exported(manifest, system);
    // The Group of the test before is in its members' compartments (Group.member); the Organization is in none.
    expect([...byType.keys()].sort()).to.deep.equal(['Group', 'Observation', 'Patient']);
    expect(byType.get('Observation')).to.have.length(observations.length);
  });

  it('gives a client with system/Observation.rs the Observations only, and refuses _type it has no scope for', async () => {
    const observationsOnly = await bulkClient(server, baseUrl, 'system/Observation.rs');
    const res = await kickOff(`${fhir}/$export`, observationsOnly);
    expect(res.status).to.equal(202);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, observationsOnly);
    expect(manifest.output.map((o) => o.type)).to.deep.equal(['Observation']);
    expect(manifest.output[0].count).to.equal(observations.length);
    expect((await kickOff(`${fhir}/$export?_type=Patient`, observationsOnly)).status).to.equal(403);
  });

  it('refuses a client whose token reads nothing (403)', async () => {
    const writer = await bulkClient(server, baseUrl, 'system/Patient.c');
    const res = await kickOff(`${fhir}/$export`, writer);
    expect(res.status).to.equal(403);
  });

  it('shows a job and its files to the client that started it only (404 to another client)', async () => {
    const res = await kickOff(`${fhir}/$export?_type=Patient`, system);
    const statusUrl = res.headers.get('content-location')!;
    const { manifest } = await waitForManifest(statusUrl, system);
    const other = await bulkClient(server, baseUrl, 'system/*.rs');
    expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${other.token}` } })).status).to.equal(404);
    const stolen = await download(manifest.output[0].url, other);
    expect(stolen.res.status).to.equal(404);
    expect(stolen.text).to.not.include(patients[0]);
    const anonymous = await fetch(manifest.output[0].url);
    expect(anonymous.status).to.equal(401);
    expect((await download(manifest.output[0].url, system)).res.status).to.equal(200);
  });

  it('cancels a job with DELETE on its status URL: its files are gone and later polls answer 404', async () => {
    const res = await kickOff(`${fhir}/$export?_type=Patient`, system);
    const statusUrl = res.headers.get('content-location')!;
    const { manifest } = await waitForManifest(statusUrl, system);
    const cancel = await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${system.token}` } });
    expect(cancel.status).to.equal(202);
    expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${system.token}` } })).status).to.equal(404);
    expect((await download(manifest.output[0].url, system)).res.status).to.equal(404);
    const segments = await server.database.db.collection('bulk.files').countDocuments({ 'metadata.job': statusUrl.split('/').pop() });
    expect(segments).to.equal(0);
    expect((await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${system.token}` } })).status).to.equal(404);
  });

  it('runs each _typeFilter query through the search engine, OR-ing several of a type without repeating a resource', async () => {
    const one = await kickOff(`${fhir}/$export?_type=Observation&_typeFilter=${encodeURIComponent('Observation?code=http://loinc.org|4548-4')}`, system);
    expect(one.status, await one.clone().text()).to.equal(202);
    const hba1c = (await exported((await waitForManifest(one.headers.get('content-location')!, system)).manifest, system)).get('Observation')!;
    expect(hba1c).to.have.length(4);
    expect(hba1c.every((o) => (o as Observation).code.coding![0].code === '4548-4')).to.equal(true);
    const filters = [`Observation?code=http://loinc.org|4548-4`, `Observation?subject=Patient/${patients[0]}`].map(encodeURIComponent).join(',');
    const two = await kickOff(`${fhir}/$export?_type=Observation&_typeFilter=${filters}`, system);
    const either = (await exported((await waitForManifest(two.headers.get('content-location')!, system)).manifest, system)).get('Observation')!;
    expect(either.map((o) => o.id).sort()).to.deep.equal([...new Set(either.map((o) => o.id))].sort());
    expect(either).to.have.length(5);
    const bad = await kickOff(`${fhir}/$export?_typeFilter=${encodeURIComponent('Observation?colour=blue')}`, system);
    expect(bad.status).to.equal(400);
  });

  it('keeps only the _elements asked for (and the mandatory ones), marked SUBSETTED', async () => {
    const res = await kickOff(`${fhir}/$export?_type=Patient,Observation&_elements=Patient.gender,status`, system);
    const byType = await exported((await waitForManifest(res.headers.get('content-location')!, system)).manifest, system);
    for (const patient of byType.get('Patient')! as Patient[]) {
      expect(Object.keys(patient).sort()).to.deep.equal(['gender', 'id', 'meta', 'resourceType']);
      expect(patient.meta!.tag!.map((t) => t.code)).to.include('SUBSETTED');
    }
    // status is asked for every type; an Observation's code is mandatory, so it stays.
    for (const o of byType.get('Observation')! as Observation[]) expect(o.status).to.equal('final') && expect(o.valueQuantity).to.equal(undefined);
  });

  it('exports only what changed after _since, and lists what was deleted since in deleted[]', async () => {
    await new Promise((r) => setTimeout(r, 5));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const added = await create(observation(patients[3], '718-7'));
    const update = await fhirFetch(`${fhir}/Patient/${patients[3]}`, { method: 'PUT', body: { resourceType: 'Patient', id: patients[3], name: [{ family: 'Dane-Smith' }], gender: 'female' } });
    expect(update.status).to.equal(200);
    const gone = observations[0];
    expect((await fhirFetch(`${fhir}/Observation/${gone}`, { method: 'DELETE' })).status).to.be.oneOf([200, 204]);
    const res = await kickOff(`${fhir}/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}`, system);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, system);
    const byType = await exported(manifest as never, system);
    expect(byType.get('Observation')!.map((o) => o.id)).to.deep.equal([added]);
    expect(byType.get('Patient')!.map((p) => p.id)).to.deep.equal([patients[3]]);
    const deleted = (manifest as unknown as { deleted: Array<{ type: string; url: string; count: number }> }).deleted;
    expect(deleted).to.have.length(1);
    expect(deleted[0].type).to.equal('Bundle');
    const bundles = (await download(deleted[0].url, system)).resources as Array<{ type: string; entry: Array<{ request: { method: string; url: string } }> }>;
    expect(bundles.map((b) => [b.type, b.entry[0].request.method, b.entry[0].request.url])).to.deep.equal([['transaction', 'DELETE', `Observation/${gone}`]]);
    // Before _since nothing changed: an empty export has no output entries at all.
    const until = await kickOff(`${fhir}/$export?_type=Patient&_until=2000-01-01T00:00:00Z`, system);
    expect((await waitForManifest(until.headers.get('content-location')!, system)).manifest.output).to.deep.equal([]);
  });

  it('declares the export operations and the Bulk Data capability statement', async () => {
    const res = await fetch(`${fhir}/metadata`);
    const cs = (await res.json()) as CapabilityStatement;
    expect(cs.instantiates).to.include('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data');
    const rest = cs.rest![0];
    expect(rest.operation?.find((o) => o.name === 'export')?.definition).to.equal('http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export');
    const on = (type: string) => rest.resource!.find((r) => r.type === type)!.operation?.find((o) => o.name === 'export')?.definition;
    expect(on('Patient')).to.equal('http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export');
    expect(on('Group')).to.equal('http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export');
  });
  it('carries the directory resources a Group\'s records point to, each once, and only those', async () => {
    const clinic = await create({ resourceType: 'Organization', name: 'Hillside Clinic' });
    await create({ resourceType: 'Organization', name: 'Nobody\'s clinic' });
    const doctor = await create({ resourceType: 'Practitioner', name: [{ family: 'Okafor' }] });
    const patient = await create<Patient>({
      resourceType: 'Patient',
      name: [{ family: 'Eames' }],
      managingOrganization: { reference: `Organization/${clinic}` },
      generalPractitioner: [{ reference: `Practitioner/${doctor}` }],
    });
    for (const code of ['8867-4', '8480-6']) await create({ ...observation(patient, code), performer: [{ reference: `Practitioner/${doctor}` }] });
    const group = await create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${patient}` } }] });
    const all = await kickOff(`${fhir}/Group/${group}/$export`, system);
    const byType = await exported((await waitForManifest(all.headers.get('content-location')!, system)).manifest, system);
    expect([...byType.keys()].sort()).to.deep.equal(['Group', 'Observation', 'Organization', 'Patient', 'Practitioner']);
    expect(byType.get('Organization')!.map((o) => o.id)).to.deep.equal([clinic]);
    expect(byType.get('Practitioner')!.map((o) => o.id), 'referenced three times, written once').to.deep.equal([doctor]);
    const some = await kickOff(`${fhir}/Group/${group}/$export?_type=Observation,Practitioner`, system);
    const picked = await exported((await waitForManifest(some.headers.get('content-location')!, system)).manifest, system);
    expect([...picked.keys()].sort()).to.deep.equal(['Observation', 'Practitioner']);
    const alone = await kickOff(`${fhir}/Group/${group}/$export?_type=Practitioner`, system);
    expect(alone.status).to.equal(400);
  });
  it('gives a client limited to a Group only its members\' records, even at system level', async () => {
    const group = await create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${patients[1]}` } }] });
    const limited = await bulkClient(server, baseUrl, 'system/*.rs', `Group/${group}`);
    const res = await kickOff(`${fhir}/$export?_type=Patient,Observation`, limited);
    const byType = await exported((await waitForManifest(res.headers.get('content-location')!, limited)).manifest, limited);
    expect(byType.get('Patient')!.map((p) => p.id)).to.deep.equal([patients[1]]);
    expect(new Set(byType.get('Observation')!.map((o) => (o as Observation).subject?.reference))).to.deep.equal(new Set([`Patient/${patients[1]}`]));
  });

  it('refuses patient references the export does not reach, naming them', async () => {
    const post = (url: string, ids: string[]) =>
      fetch(url, {
        method: 'POST',
        headers: system.headers({ 'content-type': 'application/fhir+json' }),
        body: JSON.stringify({ resourceType: 'Parameters', parameter: ids.map((id) => ({ name: 'patient', valueReference: { reference: `Patient/${id}` } })) }),
      });
    const unknown = await post(`${fhir}/Patient/$export`, [patients[0], 'no-such-patient']);
    expect(unknown.status).to.equal(400);
    expect(((await unknown.json()) as OperationOutcome).issue[0].diagnostics).to.match(/Patient\/no-such-patient/);
    const group = await create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${patients[0]}` } }] });
    const outside = await post(`${fhir}/Group/${group}/$export`, [patients[2]]);
    expect(outside.status).to.equal(400);
    expect(((await outside.json()) as OperationOutcome).issue[0].diagnostics).to.match(/not members of the Group/);
    const byGet = await kickOff(`${fhir}/Patient/$export?patient=Patient/${patients[0]}`, system);
    expect(byGet.status, 'patient is a POST parameter').to.equal(400);
  });
  it('answers browser clients on other origins with CORS headers, preflight included', async () => {
    const origin = 'https://bulk-client.example';
    const res = await kickOff(`${fhir}/$export?_type=Patient`, system, { origin });
    const statusUrl = res.headers.get('content-location')!;
    const preflight = await fetch(statusUrl, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' } });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-allow-methods')).to.include('DELETE');
    const { manifest } = await waitForManifest(statusUrl, system);
    const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${system.token}`, origin } });
    expect(status.headers.get('access-control-allow-origin')).to.equal('*');
    expect(status.headers.get('access-control-expose-headers')).to.include('Expires');
    const file = await fetch(manifest.output[0].url, { headers: { authorization: `Bearer ${system.token}`, origin, range: 'bytes=0-9' } });
    expect(file.status).to.equal(206);
    expect(file.headers.get('access-control-allow-origin')).to.equal('*');
    expect(file.headers.get('access-control-expose-headers')).to.include('Content-Range');
  });
  it('exports a Group defined by a characteristic (the managing organization) without a member list', async () => {
    const org = await create({ resourceType: 'Organization', name: 'Lakeside Practice' });
    const inOrg: string[] = [];
    for (const family of ['Lake', 'Shore']) {
      inOrg.push(await create<Patient>({ resourceType: 'Patient', name: [{ family }], managingOrganization: { reference: `Organization/${org}` } }));
    }
    const group = await create({
      resourceType: 'Group',
      type: 'person',
      actual: false,
      characteristic: [{ code: { coding: [{ code: 'organization' }] }, valueReference: { reference: `Organization/${org}` }, exclude: false }],
    });
    const res = await kickOff(`${fhir}/Group/${group}/$export?_type=Patient`, system);
    expect(res.status, await res.clone().text()).to.equal(202);
    const byType = await exported((await waitForManifest(res.headers.get('content-location')!, system)).manifest, system);
    expect(byType.get('Patient')!.map((p) => p.id).sort()).to.deep.equal([...inOrg].sort());
    const unknown = await create({ resourceType: 'Group', type: 'person', actual: false, characteristic: [{ code: { text: 'favourite-colour' }, valueBoolean: true, exclude: false }] });
    const refused = await kickOff(`${fhir}/Group/${unknown}/$export`, system);
    expect(refused.status).to.equal(400);
    expect(((await refused.json()) as OperationOutcome).issue[0].diagnostics).to.match(/favourite-colour/);
  });
  it('records each file download in the audit trail, with the client that downloaded it', async () => {
    const res = await kickOff(`${fhir}/$export?_type=Patient`, system);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, system);
    const rid = requestId('bulk-download');
    expect((await download(manifest.output[0].url, system, { 'x-request-id': rid })).res.status).to.equal(200);
    const events = await eventsOfRequest(fhir, rid);
    expect(events).to.have.length(1);
    expect(clientOf(events[0])).to.equal(system.credentials.clientId);
  });
});

describe('Bulk Data export files expire', function () {
  this.timeout(60_000);
  let server: RunningServer;
  after(async () => server?.close());

  it('deletes a finished export\'s files after the configured time: polls and downloads then answer 404', async () => {
    const config = await exportConfig({ fileKeepMs: 2_000 });
    server = await startTestServerWith(config);
    const fhir = `${config.baseUrl}/fhir`;
    const created = await fhirFetch(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Short' }] } });
    expect(created.status).to.equal(201);
    const client = await bulkClient(server, config.baseUrl, 'system/Patient.rs');
    const res = await kickOff(`${fhir}/$export?_type=Patient`, client);
    const statusUrl = res.headers.get('content-location')!;
    const { res: done, manifest } = await waitForManifest(statusUrl, client);
    const expires = Date.parse(done.headers.get('expires')!);
    expect(expires - Date.now()).to.be.within(-1000, 2_000);
    expect((await download(manifest.output[0].url, client)).resources).to.have.length(1);
    const jobId = statusUrl.split('/').pop();
    expect(await server.database.db.collection('bulk.files').countDocuments({ 'metadata.job': jobId })).to.be.greaterThan(0);
    // Expires is in whole seconds (an HTTP date): the job ends within the second after it.
    await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 1_100));
    expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${client.token}` } })).status).to.equal(404);
    expect((await download(manifest.output[0].url, client)).res.status).to.equal(404);
    // The sweep (every half of the keeping time here) removes the files, then the job.
    const deadline = Date.now() + 10_000;
    while ((await server.database.db.collection('bulk.files').countDocuments({ 'metadata.job': jobId })) > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await server.database.db.collection('bulk.files').countDocuments({ 'metadata.job': jobId })).to.equal(0);
    expect(await server.database.db.collection('bulk.chunks').countDocuments({ files_id: { $regex: `^${jobId}\\.` } })).to.equal(0);
    expect(await server.database.db.collection('bulk_export_jobs').countDocuments({ _id: jobId as never })).to.equal(0);
  });
});

describe('Bulk Data export files in a directory (BULK_FILE_STORE=directory)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let dir: string;
  after(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes, serves (with ranges) and removes the files in the folder', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulk-files-'));
    const config = await exportConfig({ fileStore: 'directory', fileDir: dir });
    server = await startTestServerWith(config);
    const fhir = `${config.baseUrl}/fhir`;
    for (let i = 0; i < 5; i++) await fhirFetch(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: `Dir${i}` }] } });
    const client = await bulkClient(server, config.baseUrl, 'system/Patient.rs');
    const res = await kickOff(`${fhir}/$export?_type=Patient`, client);
    const statusUrl = res.headers.get('content-location')!;
    const { manifest } = await waitForManifest(statusUrl, client);
    const whole = await download(manifest.output[0].url, client);
    expect(whole.resources).to.have.length(5);
    const jobId = statusUrl.split('/').pop()!;
    expect(fs.readdirSync(path.join(dir, jobId)).length, 'its segments, one per page written').to.be.greaterThan(0);
    const tail = await fetch(manifest.output[0].url, { headers: { authorization: `Bearer ${client.token}`, range: 'bytes=-40' } });
    expect(tail.status).to.equal(206);
    expect(await tail.text()).to.equal(whole.text.slice(-40));
    expect((await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${client.token}` } })).status).to.equal(202);
    expect(fs.existsSync(path.join(dir, jobId))).to.equal(false);
  });
});

describe('Bulk Data export jobs shared by instances', function () {
  this.timeout(120_000);
  let api: RunningServer;
  let worker: RunningServer | undefined;
  let fhir: string;
  let databaseName: string;
  let removedClientJob: string | undefined;

  before(async () => {
    // An instance that serves the API only: jobs wait in the database for a worker.
    const config = await exportConfig({ worker: false, maxJobsPerClient: 1, minPollMs: 2_000 });
    databaseName = config.databaseName;
    api = await startTestServerWith(config);
    fhir = `${config.baseUrl}/fhir`;
  });
  after(async () => {
    await worker?.close();
    await api?.close();
  });

  it('answers 202 with X-Progress while queued, 429 when polled far too often, and 429 beyond the client\'s concurrent jobs', async () => {
    const client = await bulkClient(api, fhir.replace(/\/fhir$/, ''), 'system/*.rs');
    const res = await kickOff(`${fhir}/$export`, client);
    expect(res.status).to.equal(202);
    const statusUrl = res.headers.get('content-location')!;
    const first = await fetch(statusUrl, { headers: { authorization: `Bearer ${client.token}` } });
    expect(first.status).to.equal(202);
    expect(first.headers.get('x-progress')).to.be.a('string');
    expect(Number(first.headers.get('retry-after'))).to.be.greaterThan(0);
    const tooSoon = await fetch(statusUrl, { headers: { authorization: `Bearer ${client.token}` } });
    expect(tooSoon.status).to.equal(429);
    expect(Number(tooSoon.headers.get('retry-after'))).to.be.greaterThan(0);
    const second = await kickOff(`${fhir}/$export`, client);
    expect(second.status).to.equal(429);
    expect(Number(second.headers.get('retry-after'))).to.be.greaterThan(0);
    expect(((await second.json()) as OperationOutcome).issue[0].code).to.equal('throttled');
    // Another client has a limit of its own.
    const other = await bulkClient(api, fhir.replace(/\/fhir$/, ''), 'system/*.rs');
    expect((await kickOff(`${fhir}/$export`, other)).status).to.equal(202);
  });

  it('ends the queued job of a client removed since its kick-off, exporting nothing more for it', async () => {
    const client = await bulkClient(api, fhir.replace(/\/fhir$/, ''), 'system/Patient.rs');
    const res = await kickOff(`${fhir}/$export?_type=Patient`, client);
    expect(res.status).to.equal(202);
    const jobId = res.headers.get('content-location')!.split('/').pop();
    expect(await api.auth.services.clients.remove(client.credentials.clientId)).to.equal(true);
    // No worker runs on the API instance: the job waits until one starts (the next test's).
    const jobs = api.database.db.collection('bulk_export_jobs');
    expect((await jobs.findOne({ _id: jobId as never }))!.status).to.equal('queued');
    removedClientJob = jobId;
  });

  it('leaves out what changed after the kick-off: the export is as of its transactionTime', async () => {
    const create = async (resource: FhirResource) => (await fhirFetch<FhirResource>(`${fhir}/${resource.resourceType}`, { method: 'POST', body: resource })).body.id!;
    const kept = await create({ resourceType: 'Patient', name: [{ family: 'Before' }] });
    const changed = await create({ resourceType: 'Patient', name: [{ family: 'Changed' }] });
    const client = await bulkClient(api, fhir.replace(/\/fhir$/, ''), 'system/Patient.rs');
    const res = await kickOff(`${fhir}/$export?_type=Patient`, client);
    expect(res.status).to.equal(202);
    // After the kick-off, before any worker has run the job.
    await new Promise((r) => setTimeout(r, 20));
    const later = await create({ resourceType: 'Patient', name: [{ family: 'After' }] });
    const update = await fhirFetch(`${fhir}/Patient/${changed}`, { method: 'PUT', body: { resourceType: 'Patient', id: changed, name: [{ family: 'Changed again' }] } });
    expect(update.status).to.equal(200);
    // A worker instance on the same database picks the job up.
    const config = await exportConfig({}, databaseName);
    worker = await startTestServerWith(config);
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, client);
    const ids = (await exported(manifest, client)).get('Patient')!.map((p) => p.id);
    expect(ids).to.include(kept);
    expect(ids).to.not.include(later);
    expect(ids, 'changed after transactionTime: left to the next _since export').to.not.include(changed);
    // The next export since that transactionTime has both, the change in its new version.
    const next = await kickOff(`${fhir}/$export?_type=Patient&_since=${encodeURIComponent(manifest.transactionTime)}`, client);
    expect(next.status).to.equal(202);
    const since = (await exported((await waitForManifest(next.headers.get('content-location')!, client)).manifest, client)).get('Patient') as Patient[];
    expect(since.map((p) => p.id).sort()).to.deep.equal([changed, later].sort());
    expect(since.find((p) => p.id === changed)!.name![0].family).to.equal('Changed again');
    // The removed client's job (queued before) has ended without exporting anything.
    const ended = await api.database.db.collection('bulk_export_jobs').findOne({ _id: removedClientJob as never });
    expect(ended!.status).to.equal('failed');
    expect(ended!.failure.status).to.equal(403);
    expect(ended!.progress.outputs).to.deep.equal([]);
  });
});

describe('Bulk Data export of a type the search refuses at run time', function () {
  this.timeout(120_000);
  const servers: RunningServer[] = [];
  after(async () => {
    for (const s of servers.reverse()) await s.close();
  });

  it('puts an OperationOutcome in error[] for that type and still exports the others', async () => {
    // A chain may match at most 2 Patients: true at kick-off, no longer when the job runs.
    const api = await exportConfig({ worker: false });
    const limits = { ...api.searchLimits, maxChainMatches: 2 };
    servers.push(await startTestServerWith({ ...api, searchLimits: limits }));
    const fhir = `${api.baseUrl}/fhir`;
    const patient = async (family: string) =>
      (await fhirFetch<Patient>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family }] } })).body.id!;
    const first = await patient('Errant');
    await fhirFetch(`${fhir}/Observation`, { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${first}` } } });
    const client = await bulkClient(servers[0], api.baseUrl, 'system/*.rs');
    const filter = encodeURIComponent('Observation?subject:Patient.name=Errant');
    const res = await kickOff(`${fhir}/$export?_type=Patient,Observation&_typeFilter=${filter}`, client);
    expect(res.status, await res.clone().text()).to.equal(202);
    for (const family of ['Errant', 'Errant', 'Errant']) await patient(family);
    const worker = await exportConfig({}, api.databaseName);
    servers.push(await startTestServerWith({ ...worker, searchLimits: limits }));
    const { manifest } = await waitForManifest(res.headers.get('content-location')!, client);
    expect(manifest.output.map((o) => o.type)).to.deep.equal(['Patient']);
    expect(manifest.output[0].count, 'the Patients made after the kick-off are not part of it').to.equal(1);
    expect(manifest.error).to.have.length(1);
    expect(manifest.error[0].type).to.equal('OperationOutcome');
    const errors = (await download(manifest.error[0].url, client)).resources as OperationOutcome[];
    expect(errors).to.have.length(1);
    expect(errors[0].issue[0].code).to.equal('too-costly');
    expect(errors[0].issue[0].diagnostics).to.match(/^Observation: /);
  });
});

describe('Bulk Data export with several worker instances', function () {
  this.timeout(180_000);
  const servers: RunningServer[] = [];
  after(async () => {
    for (const s of servers.reverse()) await s.close();
  });

  it('shares the jobs between them: each job is run by one worker, with exact counts', async () => {
    const api = await exportConfig({ worker: false, maxJobsPerClient: 5 });
    servers.push(await startTestServerWith(api));
    const fhir = `${api.baseUrl}/fhir`;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await fhirFetch<Patient>(`${fhir}/Patient`, { method: 'POST', body: { resourceType: 'Patient', name: [{ family: `Shared${i}` }] } })).body.id!);
    const client = await bulkClient(servers[0], api.baseUrl, 'system/*.rs');
    const statusUrls: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await kickOff(`${fhir}/$export?_type=Patient`, client);
      expect(res.status).to.equal(202);
      statusUrls.push(res.headers.get('content-location')!);
    }
    // Two workers start on the same database and race for the queued jobs.
    for (let i = 0; i < 2; i++) servers.push(await startTestServerWith(await exportConfig({ workerPollMs: 50 }, api.databaseName)));
    for (const url of statusUrls) {
      const { manifest } = await waitForManifest(url, client);
      const got = (await exported(manifest, client)).get('Patient')!.map((p) => p.id);
      expect(got.sort()).to.deep.equal([...ids].sort());
      // Segment ids carry the lease they were written under: one lease per job means one run.
      const job = await servers[0].database.db.collection('bulk_export_jobs').findOne({ _id: url.split('/').pop() as never });
      const leases = new Set((job!.progress.outputs as Array<{ segments: Array<{ id: string }> }>).flatMap((o) => o.segments.map((seg) => seg.id.split('.')[1])));
      expect(leases.size, 'written under one lease').to.equal(1);
    }
  });
});

