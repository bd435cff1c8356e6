// Wrong or hostile input gets a clear OperationOutcome with the right status, and nothing is stored.
import { expect } from 'chai';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import { testServer } from './support/test-server.ts';
import { diagnosticsOf, fhirFetch } from './support/http.ts';

describe('FHIR REST: bad input', () => {
  let fhirUrl: string;
  before(async () => {
    ({ fhirUrl } = await testServer());
  });

  /** Number of versions the server has recorded for a type (history total). */
  async function typeVersions(type: string): Promise<number> {
    const res = await fhirFetch<Bundle>(`${fhirUrl}/${type}/_history?_count=0`);
    return res.body.total!;
  }

  async function expectOutcome(
    res: Awaited<ReturnType<typeof fhirFetch>>,
    status: number,
    pattern: RegExp,
  ): Promise<void> {
    expect(res.status, res.text).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/fhir\+json/);
    expect(diagnosticsOf(res)).to.match(pattern);
    expect(res.text).to.not.match(/\bat [\w.<>]+ \(/); // no stack trace
  }

  it('malformed JSON is a 400 and stores nothing', async () => {
    const before = await typeVersions('Patient');
    const res = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      raw: '{"resourceType":"Patient",',
      headers: { 'content-type': 'application/fhir+json' },
    });
    await expectOutcome(res, 400, /not valid JSON/);
    expect(await typeVersions('Patient')).to.equal(before);
  });

  it('a body of the wrong JSON type (array, string) is a 400', async () => {
    for (const raw of ['[1,2]', '"Patient"', 'null', '42']) {
      const res = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', raw, headers: { 'content-type': 'application/fhir+json' } });
      await expectOutcome(res, 400, /JSON object|resource/);
    }
  });

  it('resourceType in the body must match the URL', async () => {
    const res = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Observation' } });
    await expectOutcome(res, 400, /holds a Observation but the URL names Patient/);
    const none = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: { name: [{ family: 'X' }] } });
    await expectOutcome(none, 400, /no resourceType/);
  });

  it('update needs the id in the body, equal to the URL id', async () => {
    const missing = await fhirFetch(`${fhirUrl}/Patient/abc`, { method: 'PUT', body: { resourceType: 'Patient' } });
    await expectOutcome(missing, 400, /must carry id "abc"/);
    const other = await fhirFetch(`${fhirUrl}/Patient/abc`, { method: 'PUT', body: { resourceType: 'Patient', id: 'xyz' } });
    await expectOutcome(other, 400, /does not match/);
    expect((await fhirFetch(`${fhirUrl}/Patient/abc`)).status).to.equal(404);
  });

  it('an invalid id in the URL is a 400', async () => {
    const res = await fhirFetch(`${fhirUrl}/Patient/${'x'.repeat(65)}`, { method: 'PUT', body: { resourceType: 'Patient', id: 'x'.repeat(65) } });
    await expectOutcome(res, 400, /not a valid resource id/);
    const weird = await fhirFetch(`${fhirUrl}/Patient/a$b`);
    await expectOutcome(weird, 400, /not a valid resource id/);
  });

  it('an unknown resource type is a 404', async () => {
    await expectOutcome(await fhirFetch(`${fhirUrl}/Spaceship/1`), 404, /not a FHIR R4 resource type/);
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Spaceship`, { method: 'POST', body: { resourceType: 'Spaceship' } }),
      404,
      /not a FHIR R4 resource type/,
    );
  });

  it('a body over the size limit is a 413 and stores nothing', async () => {
    const before = await typeVersions('Patient');
    const huge = JSON.stringify({ resourceType: 'Patient', name: [{ text: 'x'.repeat(17 * 1024 * 1024) }] });
    const res = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', raw: huge, headers: { 'content-type': 'application/fhir+json' } });
    await expectOutcome(res, 413, /larger than this server accepts/);
    expect(await typeVersions('Patient')).to.equal(before);
  });

  it('a wrong content type is a 415; XML is refused with 415 on input and 406 on output', async () => {
    const xml = '<Patient xmlns="http://hl7.org/fhir"/>';
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', raw: xml, headers: { 'content-type': 'application/fhir+xml' } }),
      415,
      /not supported/,
    );
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', raw: 'name=x', headers: { 'content-type': 'text/plain' } }),
      415,
      /not supported/,
    );
    await expectOutcome(await fhirFetch(`${fhirUrl}/metadata`, { headers: { accept: 'application/fhir+xml' } }), 406, /XML is not available/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/metadata?_format=xml`), 406, /XML is not available/);
    expect((await fhirFetch(`${fhirUrl}/metadata?_format=json`)).status).to.equal(200);
    expect((await fhirFetch(`${fhirUrl}/metadata`, { headers: { accept: 'application/json' } })).status).to.equal(200);
  });

  it('a resource that breaks the R4 schema is rejected with the location of each issue', async () => {
    const res = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', birthDate: 'last tuesday', gender: 42, favouriteColour: 'blue' },
    });
    expect(res.status).to.be.oneOf([400, 422]);
    const oo = res.body as OperationOutcome;
    const where = oo.issue.flatMap((i) => i.expression ?? []);
    expect(where.join(' ')).to.match(/Patient\.birthDate/);
    expect(where.join(' ')).to.match(/Patient\.gender/);
    expect(where.join(' ')).to.match(/favouriteColour/);
  });

  it('keys and values that look like MongoDB operators are data, never queries', async () => {
    const operatorKeys = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', $where: 'sleep(1000)', name: [{ family: { $gt: '' } }] },
    });
    expect(operatorKeys.status).to.be.oneOf([400, 422]);
    const stored = await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: '{"$gt":""}', given: ['$where'] }] },
    });
    expect(stored.status).to.equal(201);
    const read = await fhirFetch<Patient>(`${fhirUrl}/Patient/${stored.body.id}`);
    expect(read.body.name?.[0].family).to.equal('{"$gt":""}');
    // An id that looks like an operator is just an invalid id.
    expect((await fhirFetch(`${fhirUrl}/Patient/%7B%22%24gt%22%3A%22%22%7D`)).status).to.equal(400);
  });

  it('an unsupported method or path answers with an OperationOutcome', async () => {
    await expectOutcome(await fhirFetch(`${fhirUrl}/metadata`, { method: 'DELETE' }), 405, /read-only/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient/1/_history/1/extra/parts`), 404, /No FHIR interaction/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient/1/$nothing`, { method: 'POST', body: {} }), 404, /not known/);
  });

  it('a bad _since or _count on history is a 400 that names the parameter', async () => {
    const since = await fhirFetch<OperationOutcome>(`${fhirUrl}/_history?_since=2024-13-45`);
    await expectOutcome(since, 400, /_since/);
    expect(since.body.issue[0].expression).to.deep.equal(['_since']);
    await expectOutcome(await fhirFetch(`${fhirUrl}/_history?_count=-1`), 400, /_count/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/_history?_cursor=garbage`), 400, /_cursor/);
  });
});
