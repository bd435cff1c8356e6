// The audit trail of FHIR interactions: every read, search, write, history, transaction entry and
// failure is an AuditEvent (IHE BALP style) naming the app, the person, the patients and resources
// touched, the outcome, the time and the client's address, and never contents or query values.
// The trail cannot be changed through the API.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Bundle, Observation, OperationOutcome, Patient } from 'fhir/r4';
import { testServer, type TestServer } from './support/test-server.ts';
import { backendTokenSource, registerBackendClient } from './support/test-auth.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';
import { auditEvents, clientOf, eventsOfRequest, patientsIn, referencesIn, requestId, subtypeCodes } from './support/audit.ts';

describe('Audit trail: FHIR interactions', function () {
  this.timeout(60_000);
  let server: TestServer;
  let fhirUrl: string;
  before(async () => {
    server = await testServer();
    fhirUrl = server.fhirUrl;
  });

  const post = async <T>(type: string, body: object): Promise<T> => {
    const res = await fhirFetch<T>(`${fhirUrl}/${type}`, { method: 'POST', body });
    if (res.status !== 201) throw new Error(`creating ${type}: ${res.status} ${res.text}`);
    return res.body;
  };
  const newPatient = (family: string) => post<Patient>('Patient', { resourceType: 'Patient', name: [{ family }] });
  /** An Observation with a value and a code unique to the test (what must never reach the trail). */
  const newObservation = (patient: string, code: string, text = 'hba1c 9.9 percent') =>
    post<Observation>('Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://example.org/codes', code }], text },
      subject: { reference: `Patient/${patient}` },
      valueString: text,
    });

  it('records a read with the app, its address, the patient, the resource and the outcome, and no contents', async () => {
    const patient = await newPatient('Readwell');
    const secret = `secret-${randomUUID()}`;
    const obs = await newObservation(patient.id!, `code-${randomUUID()}`, secret);
    const rid = requestId('read');
    const res = await fhirFetch(`${fhirUrl}/Observation/${obs.id}`, { headers: { 'x-request-id': rid } });
    expect(res.status).to.equal(200);

    const [event, ...more] = await eventsOfRequest(fhirUrl, rid);
    expect(more).to.have.length(0);
    expect(event.type.code).to.equal('rest');
    expect(subtypeCodes(event)).to.deep.equal(['read']);
    expect(event.action).to.equal('R');
    expect(event.outcome).to.equal('0');
    expect(Date.parse(event.recorded)).to.be.closeTo(Date.now(), 60_000);
    expect(clientOf(event)).to.equal(server.credentials.clientId);
    const app = event.agent.find((a) => a.type?.coding?.[0]?.code === '110153')!;
    expect(app.who?.display).to.equal('Test run');
    expect(app.requestor, 'a backend service acts for itself').to.equal(true);
    expect(app.network?.address).to.match(/127\.0\.0\.1$/);
    expect(patientsIn(event)).to.deep.equal([patient.id]);
    expect(referencesIn(event)).to.deep.equal([`Observation/${obs.id}`]);
    expect(JSON.stringify(event)).not.to.include(secret);
  });

  it('records AuditEvents that are valid R4 resources', async () => {
    const patient = await newPatient('Valid');
    const rid = requestId('valid');
    await fhirFetch(`${fhirUrl}/Patient/${patient.id}`, { headers: { 'x-request-id': rid } });
    const [event] = await eventsOfRequest(fhirUrl, rid);
    const { id: _id, meta: _meta, ...resource } = event;
    const check = await fhirFetch<OperationOutcome>(`${fhirUrl}/AuditEvent/$validate`, { method: 'POST', body: resource });
    expect(check.status).to.equal(200);
    expect(check.body.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal'), check.text).to.deep.equal([]);
  });

  it('records a search once per patient whose resources it returned, with the parameter names and not their values', async () => {
    const code = `code-${randomUUID()}`;
    const [a, b] = [await newPatient('Searchone'), await newPatient('Searchtwo')];
    await newObservation(a.id!, code);
    await newObservation(b.id!, code);
    const rid = requestId('search');
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Observation?code=http://example.org/codes|${code}&_sort=-_lastUpdated`, { headers: { 'x-request-id': rid } });
    expect(res.body.entry).to.have.length(2);

    const events = await eventsOfRequest(fhirUrl, rid, 2);
    expect(events).to.have.length(2);
    expect(events.map((e) => patientsIn(e)).sort()).to.deep.equal([[a.id], [b.id]].sort());
    for (const e of events) {
      expect(subtypeCodes(e)).to.deep.equal(['search-type']);
      expect(e.action).to.equal('E');
      const query = e.entity!.find((x) => x.role?.code === '24');
      expect(query?.description).to.equal('GET Observation?code&_sort');
      expect(JSON.stringify(e)).not.to.include(code);
    }
  });

  it('records a search that found nothing without naming a patient', async () => {
    const rid = requestId('empty');
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Observation?code=http://example.org/codes|nothing-${randomUUID()}`, { headers: { 'x-request-id': rid } });
    expect(res.body.entry ?? []).to.have.length(0);
    const [event] = await eventsOfRequest(fhirUrl, rid);
    expect(patientsIn(event)).to.deep.equal([]);
    expect(event.outcome).to.equal('0');
  });

  it('records creates, updates, patches and deletes as the writes they are, with the patient', async () => {
    const patient = await newPatient('Writer');
    const rids = { create: requestId('c'), update: requestId('u'), patch: requestId('p'), delete: requestId('d') };
    const created = await fhirFetch<Observation>(`${fhirUrl}/Observation`, {
      method: 'POST',
      headers: { 'x-request-id': rids.create },
      body: { resourceType: 'Observation', status: 'preliminary', code: { text: 'x' }, subject: { reference: `Patient/${patient.id}` } },
    });
    const id = created.body.id!;
    await fhirFetch(`${fhirUrl}/Observation/${id}`, { method: 'PUT', headers: { 'x-request-id': rids.update }, body: { ...created.body, status: 'final' } });
    await fhirFetch(`${fhirUrl}/Observation/${id}`, {
      method: 'PATCH',
      headers: { 'x-request-id': rids.patch, 'content-type': 'application/json-patch+json' },
      raw: JSON.stringify([{ op: 'replace', path: '/status', value: 'amended' }]),
    });
    const deleted = await fhirFetch(`${fhirUrl}/Observation/${id}`, { method: 'DELETE', headers: { 'x-request-id': rids.delete } });
    expect(deleted.status).to.equal(200);

    const expected = { create: ['create', 'C'], update: ['update', 'U'], patch: ['patch', 'U'], delete: ['delete', 'D'] } as const;
    for (const [what, rid] of Object.entries(rids) as Array<[keyof typeof rids, string]>) {
      const [event] = await eventsOfRequest(fhirUrl, rid);
      expect(subtypeCodes(event), what).to.deep.equal([expected[what][0]]);
      expect(event.action, what).to.equal(expected[what][1]);
      expect(patientsIn(event), what).to.deep.equal([patient.id]);
      expect(referencesIn(event), what).to.deep.equal([`Observation/${id}`]);
    }
  });

  it('records refusals and failures with their outcome, and no patient', async () => {
    const narrow = await registerBackendClient(server.running.auth.services.clients, { name: 'Narrow app', scope: 'system/Patient.rs' });
    const token = await backendTokenSource(server.baseUrl, narrow, 'system/Patient.rs').token();
    const patient = await newPatient('Refused');
    const obs = await newObservation(patient.id!, `code-${randomUUID()}`);
    const forbidden = requestId('forbidden');
    const res = await fhirFetch(`${fhirUrl}/Observation/${obs.id}`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': forbidden } });
    expect(res.status).to.equal(403);
    const missing = requestId('missing');
    expect((await fhirFetch(`${fhirUrl}/Observation/${randomUUID()}`, { headers: { 'x-request-id': missing } })).status).to.equal(404);

    const [refused] = await eventsOfRequest(fhirUrl, forbidden);
    expect(refused.outcome).to.equal('4');
    expect(refused.outcomeDesc).to.equal('HTTP 403');
    expect(clientOf(refused)).to.equal(narrow.clientId);
    expect(patientsIn(refused), 'nothing of the patient was disclosed').to.deep.equal([]);
    const [notFound] = await eventsOfRequest(fhirUrl, missing);
    expect(notFound.outcome).to.equal('4');
    expect(notFound.outcomeDesc).to.equal('HTTP 404');
  });

  it('records each entry of a batch, and each patient of a transaction with the resources it wrote for them', async () => {
    const [a, b] = [await newPatient('Bundleone'), await newPatient('Bundletwo')];
    const batchRid = requestId('batch');
    const batch = await fhirFetch<Bundle>(`${fhirUrl}`, {
      method: 'POST',
      headers: { 'x-request-id': batchRid },
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${a.id}` } }, { request: { method: 'GET', url: `Patient/${b.id}` } }] },
    });
    expect(batch.status).to.equal(200);
    const batchEvents = await eventsOfRequest(fhirUrl, batchRid, 2);
    expect(batchEvents.map((e) => subtypeCodes(e)[0])).to.deep.equal(['read', 'read']);
    expect(batchEvents.map((e) => patientsIn(e)[0]).sort()).to.deep.equal([a.id, b.id].sort());

    const txRid = requestId('transaction');
    const obs = (patient: string) => ({
      resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } },
      request: { method: 'POST', url: 'Observation' },
    });
    const tx = await fhirFetch<Bundle>(`${fhirUrl}`, {
      method: 'POST',
      headers: { 'x-request-id': txRid },
      body: { resourceType: 'Bundle', type: 'transaction', entry: [obs(a.id!), obs(b.id!), obs(a.id!)] },
    });
    expect(tx.status).to.equal(200);
    const written = tx.body.entry!.map((e) => e.response!.location!.split('/_history')[0].slice(`${fhirUrl}/`.length));
    const txEvents = await eventsOfRequest(fhirUrl, txRid, 2);
    expect(txEvents).to.have.length(2);
    const ofA = txEvents.find((e) => patientsIn(e)[0] === a.id)!;
    const ofB = txEvents.find((e) => patientsIn(e)[0] === b.id)!;
    expect(subtypeCodes(ofA)).to.deep.equal(['transaction']);
    expect(referencesIn(ofA).sort()).to.deep.equal([written[0], written[2]].sort());
    expect(referencesIn(ofB)).to.deep.equal([written[1]]);
  });

  it('records history reads with the patients of the versions shown', async () => {
    const patient = await newPatient('Historian');
    const rid = requestId('history');
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient/${patient.id}/_history`, { headers: { 'x-request-id': rid } });
    expect(res.status).to.equal(200);
    const [event] = await eventsOfRequest(fhirUrl, rid);
    expect(subtypeCodes(event)).to.deep.equal(['history-instance']);
    expect(patientsIn(event)).to.deep.equal([patient.id]);
  });

  describe('cannot be changed through the API', () => {
    let event: AuditEvent;
    before(async () => {
      const rid = requestId('immutable');
      await fhirFetch(`${fhirUrl}/Patient?_count=1`, { headers: { 'x-request-id': rid } });
      [event] = await eventsOfRequest(fhirUrl, rid);
    });

    const refused = (res: { status: number; text: string }) => {
      expect(res.status, res.text).to.equal(403);
      expect(diagnosticsOf(res as never)).to.match(/audit trail cannot be changed/);
    };

    it('refuses creating an AuditEvent, plainly, conditionally and in a transaction', async () => {
      const { id: _id, meta: _meta, ...body } = event;
      refused(await fhirFetch(`${fhirUrl}/AuditEvent`, { method: 'POST', body }));
      refused(await fhirFetch(`${fhirUrl}/AuditEvent`, { method: 'POST', body, headers: { 'if-none-exist': `_id=${randomUUID()}` } }));
      const tx = await fhirFetch(`${fhirUrl}`, {
        method: 'POST',
        body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: body, request: { method: 'POST', url: 'AuditEvent' } }] },
      });
      refused(tx);
    });

    it('refuses updating, patching and deleting one, and leaves it as it was', async () => {
      refused(await fhirFetch(`${fhirUrl}/AuditEvent/${event.id}`, { method: 'PUT', body: { ...event, outcome: '8' } }));
      const fresh = randomUUID();
      refused(await fhirFetch(`${fhirUrl}/AuditEvent/${fresh}`, { method: 'PUT', body: { ...event, id: fresh } }));
      refused(
        await fhirFetch(`${fhirUrl}/AuditEvent/${event.id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json' },
          raw: JSON.stringify([{ op: 'replace', path: '/outcome', value: '8' }]),
        }),
      );
      refused(await fhirFetch(`${fhirUrl}/AuditEvent/${event.id}`, { method: 'DELETE' }));
      refused(await fhirFetch(`${fhirUrl}/AuditEvent?_id=${event.id}`, { method: 'DELETE' }));
      const tx = await fhirFetch(`${fhirUrl}`, {
        method: 'POST',
        body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `AuditEvent/${event.id}` } }] },
      });
      refused(tx);
      const after = await fhirFetch<AuditEvent>(`${fhirUrl}/AuditEvent/${event.id}`);
      expect(after.status).to.equal(200);
      expect(after.body).to.deep.equal(event);
    });
  });

  it('keeps each AuditEvent as its one version: vread, instance and type history answer it; the system history leaves the trail out', async () => {
    const rid = requestId('version');
    await fhirFetch(`${fhirUrl}/Patient?_count=1`, { headers: { 'x-request-id': rid } });
    const [event] = await eventsOfRequest(fhirUrl, rid);
    const v1 = await fhirFetch<AuditEvent>(`${fhirUrl}/AuditEvent/${event.id}/_history/1`);
    expect(v1.status).to.equal(200);
    expect(v1.body).to.deep.equal(event);
    expect((await fhirFetch(`${fhirUrl}/AuditEvent/${event.id}/_history/2`)).status).to.equal(404);
    const instance = await fhirFetch<Bundle>(`${fhirUrl}/AuditEvent/${event.id}/_history`);
    expect(instance.body.total).to.equal(1);
    expect(instance.body.entry?.map((e) => e.resource?.id)).to.deep.equal([event.id]);

    // Type history: newest first, paged with next links like any history.
    const first = await fhirFetch<Bundle>(`${fhirUrl}/AuditEvent/_history?_count=2`);
    expect(first.body.entry).to.have.length(2);
    const next = first.body.link?.find((l) => l.relation === 'next')?.url;
    const second = await fhirFetch<Bundle>(next!);
    const times = [...first.body.entry!, ...second.body.entry!].map((e) => Date.parse(e.response!.lastModified!));
    expect(times).to.deep.equal([...times].sort((x, y) => y - x));
    const ids = [...first.body.entry!, ...second.body.entry!].map((e) => e.resource!.id);
    expect(new Set(ids).size).to.equal(ids.length);

    const system = await fhirFetch<Bundle>(`${fhirUrl}/_history?_count=200`);
    expect(system.body.entry?.filter((e) => e.resource?.resourceType === 'AuditEvent')).to.deep.equal([]);
  });

  it('is searchable by patient, newest first', async () => {
    const patient = await newPatient('Trailed');
    for (let i = 0; i < 3; i++) await fhirFetch(`${fhirUrl}/Patient/${patient.id}`);
    const events = await auditEvents(fhirUrl, `patient=${patient.id}&_sort=-date`, { atLeast: 4 });
    expect(events.length).to.be.at.least(4); // the create and three reads
    const times = events.map((e) => Date.parse(e.recorded));
    expect(times).to.deep.equal([...times].sort((x, y) => y - x));
  });
});
