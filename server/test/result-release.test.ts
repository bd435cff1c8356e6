// Result release: a patient sees a lab result or report once the clinic releases it — at once for
// routine labs, after a delay for pathology and imaging, for genetics only when a clinician
// releases it with $release. Staff and system clients release; patients cannot.
//
// Patient and staff tokens are obtained as a real app obtains them (support/people.ts): accounts
// through the enrolment pages, sign-in, a SMART launch and the token endpoint. Data is made, and
// system releases done, with the server's tools client.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Bundle, CapabilityStatement, DiagnosticReport, FhirResource, Observation } from 'fhir/r4';
import { createPatient, startAccountsServer, type AccountsServer, type TestPatient } from './support/accounts.ts';
import { People } from './support/people.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';
import { eventsOfRequest, patientsIn, personOf, requestId, subtypeCodes } from './support/audit.ts';
import { RELEASED_EXTENSION } from '../src/access/result-release.ts';

describe('Result release', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  let people: People;
  let fhirUrl: string;
  let person: TestPatient;
  let patient: string;
  let patientToken: string;
  let clinicianToken: string;
  let clinician: string;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const HOUR = 3600_000;

  const post = async <T extends FhirResource>(type: string, body: object): Promise<T> => {
    const res = await fhirFetch<T>(`${fhirUrl}/${type}`, { method: 'POST', body: { resourceType: type, ...body } });
    if (res.status !== 201) throw new Error(`creating ${type}: ${res.status} ${res.text}`);
    return res.body;
  };

  /** A clinician of an organization (a PractitionerRole), and their user token. */
  async function clinicianOf(org: string, scope: string): Promise<{ practitioner: string; token: string }> {
    const practitioner = (await post('Practitioner', { name: [{ family: `Dr ${randomUUID().slice(0, 4)}` }] })).id!;
    await post('PractitionerRole', { practitioner: { reference: `Practitioner/${practitioner}` }, organization: { reference: `Organization/${org}` } });
    return { practitioner, token: (await people.staffToken(practitioner, [scope])).token };
  }

  before(async () => {
    server = await startAccountsServer();
    people = new People(server);
    fhirUrl = server.fhirUrl;
    const org = (await post('Organization', { name: `Release clinic ${randomUUID()}` })).id!;
    person = await createPatient(server, { family: 'Waiting', birthDate: '1960-06-06', more: { managingOrganization: { reference: `Organization/${org}` } } });
    patient = person.id;
    patientToken = (await people.patientToken(person, ['launch/patient', 'patient/*.rs'])).token;
    ({ practitioner: clinician, token: clinicianToken } = await clinicianOf(org, 'user/*.cruds'));
  });
  after(async () => {
    await server?.close();
  });

  const report = (code: string, issued: Date, status = 'final') =>
    post<DiagnosticReport>('DiagnosticReport', {
      status,
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code }] }],
      code: { text: `${code} report` },
      subject: { reference: `Patient/${patient}` },
      issued: issued.toISOString(),
    });
  const observation = (category: string, issued: Date) =>
    post<Observation>('Observation', {
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
      code: { text: `${category} result` },
      subject: { reference: `Patient/${patient}` },
      issued: issued.toISOString(),
    });

  /** Whether the patient's token sees the result: read, and in a search of its type. */
  async function patientSees(r: FhirResource): Promise<boolean> {
    const read = await fhirFetch(`${fhirUrl}/${r.resourceType}/${r.id}`, { headers: bearer(patientToken) });
    const search = await fhirFetch<Bundle>(`${fhirUrl}/${r.resourceType}?_id=${r.id}`, { headers: bearer(patientToken) });
    const found = (search.body.entry ?? []).length === 1;
    expect(read.status === 200, 'read and search agree').to.equal(found);
    if (!found) expect(read.status).to.equal(404);
    return found;
  }

  const release = (r: FhirResource, token?: string, rid?: string) =>
    fhirFetch<FhirResource>(`${fhirUrl}/${r.resourceType}/${r.id}/$release`, {
      method: 'POST',
      headers: { ...(token ? bearer(token) : {}), ...(rid ? { 'x-request-id': rid } : {}) },
    });

  it('keeps a pathology report from the patient until a clinician releases it, then shows it', async () => {
    const pathology = await report('PAT', new Date());
    expect(await patientSees(pathology)).to.equal(false);
    const res = await release(pathology, clinicianToken);
    expect(res.status, res.text).to.equal(200);
    expect(res.body.meta?.versionId).to.equal('2');
    const ext = (res.body as DiagnosticReport).extension?.find((e) => e.url === RELEASED_EXTENSION);
    expect(Date.parse(ext!.valueDateTime!)).to.be.closeTo(Date.now(), 60_000);
    expect(await patientSees(pathology)).to.equal(true);
  });

  it('never releases a genetics result by itself, however old; a clinician can', async () => {
    const genetics = await report('GE', new Date(Date.now() - 2 * 365 * 24 * HOUR));
    expect(await patientSees(genetics)).to.equal(false);
    expect((await release(genetics, clinicianToken)).status).to.equal(200);
    expect(await patientSees(genetics)).to.equal(true);
  });

  it('shows routine labs at once, and imaging once its delay (72 h by default) has passed', async () => {
    expect(await patientSees(await observation('laboratory', new Date()))).to.equal(true);
    expect(await patientSees(await observation('imaging', new Date(Date.now() - 24 * HOUR)))).to.equal(false);
    expect(await patientSees(await observation('imaging', new Date(Date.now() - 96 * HOUR)))).to.equal(true);
  });

  it('is refused to the patient, to staff without write access to results, and to staff of another clinic', async () => {
    const pathology = await report('PAT', new Date());
    expect((await release(pathology, patientToken)).status, 'a read-only patient token').to.equal(403);
    // Even with write scopes a patient cannot: an unreleased result is not there for them, and
    // results are not among what patients write.
    // Through another app: a new consent in the same app would end the read-only token's grant.
    const writer = (await people.patientToken(person, ['launch/patient', 'patient/*.cruds'], await people.app('Patient writer app'))).token;
    expect((await release(pathology, writer)).status, 'not released: not there').to.equal(404);
    const released = await report('PAT', new Date(Date.now() - 96 * HOUR));
    const byPatient = await release(released, writer);
    expect(byPatient.status).to.equal(403);
    expect(diagnosticsOf(byPatient)).to.match(/patient cannot/i);

    const reader = await clinicianOf((await post('Organization', { name: 'Reader clinic' })).id!, 'user/*.rs');
    expect((await release(pathology, reader.token)).status, 'no update scope').to.equal(403);
    const elsewhere = await clinicianOf((await post('Organization', { name: `Other clinic ${randomUUID()}` })).id!, 'user/*.cruds');
    expect((await release(pathology, elsewhere.token)).status, 'another clinic\'s patient').to.equal(404);
    expect(await patientSees(pathology)).to.equal(false);
    // A system client with write access may (an integration releasing results).
    expect((await release(pathology)).status).to.equal(200);
  });

  it('changes nothing when released again, and refuses a result that is not final', async () => {
    const pathology = await report('PAT', new Date());
    const first = await release(pathology, clinicianToken);
    const again = await release(pathology, clinicianToken);
    expect(again.status).to.equal(200);
    expect(again.body.meta?.versionId).to.equal(first.body.meta?.versionId);
    const preliminary = await report('PAT', new Date(), 'preliminary');
    const refused = await release(preliminary, clinicianToken);
    expect(refused.status).to.equal(422);
    expect(diagnosticsOf(refused)).to.match(/final, amended or corrected/);
    expect((await fhirFetch<FhirResource>(`${fhirUrl}/DiagnosticReport/${preliminary.id}`)).body.meta?.versionId).to.equal('1');
    expect((await fhirFetch(`${fhirUrl}/DiagnosticReport/${randomUUID()}/$release`, { method: 'POST' })).status).to.equal(404);
    expect((await fhirFetch(`${fhirUrl}/Patient/${patient}/$release`, { method: 'POST' })).status).to.equal(404);
    expect((await fhirFetch(`${fhirUrl}/DiagnosticReport/${pathology.id}/$release`)).status, 'GET').to.equal(405);
  });

  it('is recorded in the audit trail, in the patient\'s part, with the clinician who released', async () => {
    const pathology = await report('PAT', new Date());
    const rid = requestId('release');
    expect((await release(pathology, clinicianToken, rid)).status).to.equal(200);
    const [event] = await eventsOfRequest(fhirUrl, rid);
    expect(subtypeCodes(event)).to.deep.equal(['operation', '$release']);
    expect(personOf(event)).to.equal(`Practitioner/${clinician}`);
    expect(patientsIn(event)).to.deep.equal([patient]);
    expect(event.entity!.some((x) => x.what?.reference === `DiagnosticReport/${pathology.id}`)).to.equal(true);
  });

  it('is declared on Observation and DiagnosticReport in the CapabilityStatement', async () => {
    const cs = await fhirFetch<CapabilityStatement>(`${fhirUrl}/metadata`, { anonymous: true });
    const ops = (type: string) => cs.body.rest![0].resource!.find((r) => r.type === type)!.operation?.map((o) => o.name) ?? [];
    expect(ops('Observation')).to.include('release');
    expect(ops('DiagnosticReport')).to.include('release');
    expect(ops('Patient')).not.to.include('release');
  });
});
