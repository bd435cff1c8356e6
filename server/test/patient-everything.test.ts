// Patient/[id]/$everything: a patient's record — their compartment and the directory resources it
// points to — for the caller's permitted view, page by page with next links, with _since, _type
// and _count; declared in the CapabilityStatement; recorded in the audit trail.
//
// The patient's and the proxy's tokens are obtained as a real app obtains them
// (support/people.ts); data is made, and the whole record read, with the server's tools client.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, CapabilityStatement, FhirResource, Patient } from 'fhir/r4';
import { createPatient, startAccountsServer, uniqueEmail, type AccountsServer } from './support/accounts.ts';
import { People, type PersonToken } from './support/people.ts';
import { diagnosticsOf, fhirFetch, type HttpResult } from './support/http.ts';
import { eventsOfRequest, patientsIn, requestId, subtypeCodes } from './support/audit.ts';

describe('Patient/$everything', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  let people: People;
  let fhirUrl: string;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const post = async (type: string, body: object): Promise<string> => {
    const res = await fhirFetch<FhirResource>(`${fhirUrl}/${type}`, { method: 'POST', body: { resourceType: type, ...body } });
    if (res.status !== 201) throw new Error(`creating ${type}: ${res.status} ${res.text}`);
    return res.body.id!;
  };

  /** A patient with a record that points into the directory. */
  async function recordOf(family: string) {
    const org = await post('Organization', { name: `Clinic ${family}` });
    const doctor = await post('Practitioner', { name: [{ family: `Dr ${family}` }] });
    const place = await post('Location', { name: `Room ${family}` });
    const drug = await post('Medication', { code: { text: 'metformin 500 mg' } });
    // A patient who can register an account (an MRN and an email address).
    const person = await createPatient(server, {
      family,
      birthDate: '1975-03-03',
      more: { managingOrganization: { reference: `Organization/${org}` }, generalPractitioner: [{ reference: `Practitioner/${doctor}` }] },
    });
    const patient = person.id;
    const subject = { reference: `Patient/${patient}` };
    const lab = (code: string) => ({
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      code: { text: code },
      subject,
      effectiveDateTime: '2024-05-01',
      issued: '2024-05-01T09:00:00Z',
      performer: [{ reference: `Practitioner/${doctor}` }],
    });
    const ids = {
      person,
      patient,
      org,
      doctor,
      place,
      drug,
      labs: [await post('Observation', lab('glucose')), await post('Observation', lab('hba1c'))],
      condition: await post('Condition', { subject, code: { text: 'type 2 diabetes' } }),
      prescription: await post('MedicationRequest', { status: 'active', intent: 'order', subject, medicationReference: { reference: `Medication/${drug}` } }),
      encounter: await post('Encounter', { status: 'finished', class: { code: 'AMB' }, subject, location: [{ location: { reference: `Location/${place}` } }] }),
      pathology: await post('DiagnosticReport', {
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'PAT' }] }],
        code: { text: 'biopsy' },
        subject,
        issued: new Date().toISOString(),
      }),
    };
    return ids;
  }

  let rec: Awaited<ReturnType<typeof recordOf>>;
  let other: Awaited<ReturnType<typeof recordOf>>;
  /** The patient's token (every read scope of their record), for the tests that need no other. */
  let mine: PersonToken;
  before(async () => {
    server = await startAccountsServer();
    people = new People(server);
    fhirUrl = server.fhirUrl;
    rec = await recordOf(`Everyone${randomUUID().slice(0, 6)}`);
    other = await recordOf(`Elsewhere${randomUUID().slice(0, 6)}`);
    mine = await people.patientToken(rec.person, ['launch/patient', 'patient/*.rs']);
  });
  after(async () => {
    await server?.close();
  });

  const keys = (entries: BundleEntry[] | undefined, mode: 'match' | 'include') =>
    (entries ?? []).filter((e) => e.search?.mode === mode).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);

  /** Every page of an $everything, following next links. */
  async function allPages(url: string, headers: Record<string, string> = {}): Promise<Bundle[]> {
    const pages: Bundle[] = [];
    let next: string | undefined = url;
    while (next) {
      const res: HttpResult<Bundle> = await fhirFetch<Bundle>(next, { headers });
      expect(res.status, res.text).to.equal(200);
      pages.push(res.body);
      next = res.body.link?.find((l) => l.relation === 'next')?.url;
      if (pages.length > 50) throw new Error('too many pages');
    }
    return pages;
  }

  it('returns the patient\'s compartment and the directory resources it points to, and nothing of anyone else', async () => {
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient/${rec.patient}/$everything?_count=100`);
    expect(res.status).to.equal(200);
    expect(res.body.type).to.equal('searchset');
    const matches = keys(res.body.entry, 'match');
    expect(matches.sort()).to.deep.equal(
      [
        `Patient/${rec.patient}`,
        ...rec.labs.map((l) => `Observation/${l}`),
        `Condition/${rec.condition}`,
        `MedicationRequest/${rec.prescription}`,
        `Encounter/${rec.encounter}`,
        `DiagnosticReport/${rec.pathology}`,
      ].sort(),
    );
    expect(keys(res.body.entry, 'include').sort()).to.deep.equal(
      [`Organization/${rec.org}`, `Practitioner/${rec.doctor}`, `Location/${rec.place}`, `Medication/${rec.drug}`].sort(),
    );
    const all = JSON.stringify(res.body);
    for (const id of [other.patient, other.condition, other.doctor]) expect(all).not.to.include(id);
  });

  it('pages through the record with next links, _count resources a page, each resource once', async () => {
    const pages = await allPages(`${fhirUrl}/Patient/${rec.patient}/$everything?_count=2`);
    expect(pages.length).to.equal(4); // 7 resources, 2 a page
    const seen = pages.flatMap((p) => keys(p.entry, 'match'));
    expect(new Set(seen).size).to.equal(seen.length);
    expect(seen).to.have.length(7);
    for (const p of pages) expect(keys(p.entry, 'match').length).to.be.at.most(2);
    const self = pages[1].link!.find((l) => l.relation === 'self')!.url;
    expect(self).to.match(new RegExp(`/Patient/${rec.patient}/\\$everything\\?_count=2&_cursor=`));
  });

  it('_type keeps the named types (record and directory), _since the resources changed after an instant', async () => {
    const typed = await fhirFetch<Bundle>(`${fhirUrl}/Patient/${rec.patient}/$everything?_type=Observation,Practitioner`);
    expect(keys(typed.body.entry, 'match').sort()).to.deep.equal(rec.labs.map((l) => `Observation/${l}`).sort());
    expect(keys(typed.body.entry, 'include')).to.deep.equal([`Practitioner/${rec.doctor}`]);

    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const condition = await fhirFetch<FhirResource>(`${fhirUrl}/Condition/${rec.condition}`);
    await fhirFetch(`${fhirUrl}/Condition/${rec.condition}`, { method: 'PUT', body: { ...condition.body, note: [{ text: 'reviewed' }] } });
    const changed = await fhirFetch<Bundle>(`${fhirUrl}/Patient/${rec.patient}/$everything?_since=${encodeURIComponent(since)}`);
    expect(keys(changed.body.entry, 'match')).to.deep.equal([`Condition/${rec.condition}`]);
  });

  it('takes its parameters in a Parameters body too (POST)', async () => {
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient/${rec.patient}/$everything`, {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Condition' }] },
    });
    expect(res.status, res.text).to.equal(200);
    expect(keys(res.body.entry, 'match')).to.deep.equal([`Condition/${rec.condition}`]);
  });

  it('answers a patient token with their own record, without results the clinic has not released yet', async () => {
    const pages = await allPages(`${fhirUrl}/Patient/${rec.patient}/$everything?_count=3`, bearer(mine.token));
    const seen = pages.flatMap((p) => keys(p.entry, 'match'));
    expect(seen).to.include(`Observation/${rec.labs[0]}`); // routine labs: released at once
    expect(seen).not.to.include(`DiagnosticReport/${rec.pathology}`); // pathology: after 3 days
    expect(seen).to.include(`Condition/${rec.condition}`);
  });

  it('answers another patient\'s $everything with the 404 of a patient that does not exist', async () => {
    const theirs = await fhirFetch(`${fhirUrl}/Patient/${other.patient}/$everything`, { headers: bearer(mine.token) });
    const nobody = await fhirFetch(`${fhirUrl}/Patient/${randomUUID()}/$everything`, { headers: bearer(mine.token) });
    expect(theirs.status).to.equal(404);
    expect(nobody.status).to.equal(404);
    expect(diagnosticsOf(theirs).replace(other.patient, 'X')).to.equal(diagnosticsOf(nobody).replace(/Patient\/[0-9a-f-]+/, 'Patient/X'));
  });

  it('gives a proxy granted results only the results (and the directory), not the rest of the record', async () => {
    const rel = await post('RelatedPerson', { patient: { reference: `Patient/${rec.patient}` }, telecom: [{ system: 'email', value: uniqueEmail('proxy') }] });
    await post('Consent', {
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${rec.patient}` },
      dateTime: new Date().toISOString(),
      performer: [{ reference: `Patient/${rec.patient}` }],
      provision: {
        type: 'permit',
        period: { start: '2020-01-01' },
        actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `RelatedPerson/${rel}` } }],
        action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
        class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }, { system: 'http://hl7.org/fhir/resource-types', code: 'DiagnosticReport' }],
      },
    });
    // The proxy's account through the clinic's invitation, and a launch for the patient's record.
    const proxy = await people.proxyToken(rel, ['launch/patient', 'patient/*.rs']);
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient/${rec.patient}/$everything`, { headers: bearer(proxy.token) });
    expect(res.status, res.text).to.equal(200);
    expect(keys(res.body.entry, 'match').sort()).to.deep.equal(rec.labs.map((l) => `Observation/${l}`).sort());
    expect(keys(res.body.entry, 'include')).to.deep.equal([`Practitioner/${rec.doctor}`]);
  });

  it('refuses what it does not answer: start/end, unknown parameters and types, other resource types', async () => {
    const url = `${fhirUrl}/Patient/${rec.patient}/$everything`;
    const start = await fhirFetch(`${url}?start=2020-01-01`);
    expect(start.status).to.equal(400);
    expect(diagnosticsOf(start)).to.match(/start .*not supported/);
    expect((await fhirFetch(`${url}?colour=blue`)).status).to.equal(400);
    expect((await fhirFetch(`${url}?_type=Nonsense`)).status).to.equal(400);
    expect((await fhirFetch(`${url}?_type=Library`)).status).to.equal(400);
    expect((await fhirFetch(`${url}?_since=yesterday`)).status).to.equal(400);
    expect((await fhirFetch(`${fhirUrl}/Observation/${rec.labs[0]}/$everything`)).status).to.equal(404);
  });

  it('is declared on Patient in the CapabilityStatement with the official OperationDefinition', async () => {
    const cs = await fhirFetch<CapabilityStatement>(`${fhirUrl}/metadata`, { anonymous: true });
    const resources = cs.body.rest![0].resource!;
    const patient = resources.find((r) => r.type === 'Patient')!;
    expect(patient.operation).to.deep.include({ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' });
    const observation = resources.find((r) => r.type === 'Observation')!;
    expect(observation.operation?.map((o) => o.name)).not.to.include('everything');
  });

  it('is recorded in the audit trail for the patient', async () => {
    const rid = requestId('everything');
    await fhirFetch(`${fhirUrl}/Patient/${rec.patient}/$everything?_type=Condition`, { headers: { 'x-request-id': rid } });
    const [event, ...more] = await eventsOfRequest(fhirUrl, rid);
    expect(more).to.deep.equal([]);
    expect(subtypeCodes(event)).to.deep.equal(['operation', '$everything']);
    expect(patientsIn(event)).to.deep.equal([rec.patient]);
    expect(event.entity!.find((x) => x.role?.code === '24')?.description).to.equal(`GET Patient/${rec.patient}/$everything?_type`);
  });

  it('returns an empty searchset for a record the token reaches nothing of', async () => {
    // Through another app: a new consent in the same app would end the grant of the patient's other token.
    const narrow = await people.patientToken(rec.person, ['launch/patient', 'patient/Patient.rs'], await people.app('Demographics app'));
    const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient/${rec.patient}/$everything?_type=Patient`, { headers: bearer(narrow.token) });
    expect(res.status).to.equal(200);
    expect(keys(res.body.entry, 'match')).to.deep.equal([`Patient/${rec.patient}`]);
    const none = await fhirFetch(`${fhirUrl}/Patient/${rec.patient}/$everything?_type=Condition`, { headers: bearer(narrow.token) });
    expect(none.status, 'a type named in _type without a scope').to.equal(403);
    const patient = (await fhirFetch<Patient>(`${fhirUrl}/Patient/${rec.patient}`, { headers: bearer(narrow.token) })).body;
    expect(patient.id).to.equal(rec.patient);
  });
});
