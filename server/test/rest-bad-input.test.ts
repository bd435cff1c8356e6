// Wrong or hostile input gets a clear OperationOutcome with the right status, and nothing is stored.
import { gzipSync, deflateSync } from 'node:zlib';
import { expect } from 'chai';
import type { Bundle, Extension, Observation, OperationOutcome, Patient } from 'fhir/r4';
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

  const JSON_TYPE = { 'content-type': 'application/fhir+json' };

  /** A Patient whose extensions nest `levels` deep: the body's nesting is 2 × levels + 1, + 1 for a coded innermost value. */
  function nestedExtensions(levels: number, coded = false): Extension {
    let ext: Extension = coded
      ? { url: 'urn:test:leaf', valueCodeableConcept: { text: 'leaf' } }
      : { url: 'urn:test:leaf', valueString: 'leaf' };
    for (let i = 1; i < levels; i++) ext = { url: 'urn:test:branch', extension: [ext] };
    return ext;
  }

  it('a body nested deeper than the limit (64) is a 400 naming the limit, before any recursive code runs', async () => {
    const before = await typeVersions('Patient');
    // 1,000 nested extensions overflowed the validator's stack (500).
    const deep = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', extension: [nestedExtensions(1000)] },
    });
    await expectOutcome(deep, 400, /nests objects and arrays more than 64 levels deep at Patient\.extension\[0\]\.extension\[0\]/);
    expect((deep.body as OperationOutcome).issue[0].code).to.equal('too-costly');
    // A transaction entry 20,000 levels deep overflowed reference rewriting (500).
    let value = '"x"';
    for (let i = 0; i < 20_000; i++) value = `{"a":${value}}`;
    const raw =
      '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Basic"},' +
      `"resource":{"resourceType":"Basic","code":{"text":"x"},"extension":[{"url":"urn:test","valueString":"y"}],"x":${value}}}]}`;
    const bundle = await fhirFetch(fhirUrl, { method: 'POST', raw, headers: JSON_TYPE });
    await expectOutcome(bundle, 400, /more than 64 levels deep at Bundle\.entry\[0\]\.resource\.x\.a\.a/);
    expect(await typeVersions('Patient')).to.equal(before);
  });

  it('a resource nested exactly to the limit is stored; one level more is refused', async () => {
    const atLimit = await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', extension: [nestedExtensions(31, true)] }, // 1 + 2 × 31 + 1 = 64
    });
    expect(atLimit.status, atLimit.text).to.equal(201);
    const read = await fhirFetch<Patient>(`${fhirUrl}/Patient/${atLimit.body.id}`);
    expect(read.body.extension).to.deep.equal([nestedExtensions(31, true)]);
    const over = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', extension: [nestedExtensions(32, true)] },
    });
    await expectOutcome(over, 400, /more than 64 levels deep/);
  });

  it('a JSON Patch that would nest a resource deeper than the limit is refused, and the resource is unchanged', async () => {
    const created = await fhirFetch<Patient>(`${fhirUrl}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', extension: [nestedExtensions(25)] },
    });
    expect(created.status).to.equal(201);
    // Each patch is shallow enough as a body, but adds 30 levels at the bottom of the resource.
    const bottom = `/extension/0${'/extension/0'.repeat(23)}/extension/-`;
    const patch = [{ op: 'add', path: bottom, value: nestedExtensions(15) }];
    const res = await fhirFetch(`${fhirUrl}/Patient/${created.body.id}`, {
      method: 'PATCH',
      raw: JSON.stringify(patch),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    await expectOutcome(res, 400, /The resource nests objects and arrays more than 64 levels deep at Patient\.extension\[0\]/);
    const read = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.body.id}`);
    expect(read.body.meta?.versionId).to.equal('1');
  });

  it('a number a 64-bit double cannot hold as sent is a 400 naming the number and its element; nothing is stored', async () => {
    const before = await typeVersions('Observation');
    const cases: Array<[string, RegExp]> = [
      ['1e400', /beyond the largest number/], // was a 500 (the database refused Infinity)
      ['-1e400', /beyond the largest number/],
      ['1e-400', /too close to zero/], // was stored as 0
      ['9007199254740993', /would become 9007199254740992/], // 2^53 + 1
      ['0.12345678901234567891', /more significant digits/],
    ];
    for (const [token, why] of cases) {
      const raw = `{"resourceType":"Observation","status":"final","code":{"text":"n"},"valueQuantity":{"value":${token},"unit":"mg"}}`;
      const res = await fhirFetch<OperationOutcome>(`${fhirUrl}/Observation`, { method: 'POST', raw, headers: JSON_TYPE });
      await expectOutcome(res, 400, new RegExp(`number ${token.replace(/[.+]/g, '\\$&')} at Observation\\.valueQuantity\\.value`));
      expect(diagnosticsOf(res), token).to.match(why);
      expect(res.body.issue[0].expression).to.deep.equal(['Observation.valueQuantity.value']);
    }
    expect(await typeVersions('Observation')).to.equal(before);
  });

  it('numbers that a double holds exactly are stored and come back as the same number, trailing zeros included', async () => {
    for (const token of ['1.50', '0.1', '9007199254740992', '1e21', '-2.5E-7', '123456789012345', '0.000001', '1.7976931348623157e308']) {
      const raw = `{"resourceType":"Observation","status":"final","code":{"text":"n"},"valueQuantity":{"value":${token}}}`;
      const created = await fhirFetch<Observation>(`${fhirUrl}/Observation`, { method: 'POST', raw, headers: JSON_TYPE });
      expect(created.status, `${token}: ${created.text}`).to.equal(201);
      const read = await fhirFetch<Observation>(`${fhirUrl}/Observation/${created.body.id}`);
      expect(read.body.valueQuantity?.value, token).to.equal(Number(token));
    }
  });

  it('an unpaired surrogate escape is a 400 naming the element; a proper pair is stored intact', async () => {
    const before = await typeVersions('Patient');
    for (const escape of ['\\ud800', '\\udc00', '\\ud83dx']) {
      const raw = `{"resourceType":"Patient","name":[{"family":"A${escape}B"}]}`;
      const res = await fhirFetch<OperationOutcome>(`${fhirUrl}/Patient`, { method: 'POST', raw, headers: JSON_TYPE });
      await expectOutcome(res, 400, /unpaired UTF-16 surrogate/);
      expect(res.body.issue[0].expression).to.deep.equal(['Patient.name[0].family']);
    }
    expect(await typeVersions('Patient')).to.equal(before);
    const raw = '{"resourceType":"Patient","name":[{"family":"Smile \\ud83d\\ude00 \\u00e9"}]}';
    const created = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', raw, headers: JSON_TYPE });
    expect(created.status).to.equal(201);
    const read = await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.body.id}`);
    expect(read.body.name?.[0].family).to.equal('Smile \u{1F600} é');
  });

  it('bytes that are not UTF-8 are a 400, not replaced by U+FFFD', async () => {
    const before = await typeVersions('Patient');
    const start = Buffer.from('{"resourceType":"Patient","name":[{"family":"A');
    const end = Buffer.from('B"}]}');
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80] /* an encoded surrogate */]) {
      const res = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', raw: Buffer.concat([start, Buffer.from(bad), end]), headers: JSON_TYPE });
      await expectOutcome(res, 400, /not valid UTF-8/);
    }
    expect(await typeVersions('Patient')).to.equal(before);
  });

  it('a charset other than UTF-8 is a 415; UTF-8 in any letter case is accepted', async () => {
    const json = '{"resourceType":"Patient","name":[{"family":"Müller"}]}';
    const utf16 = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      raw: Buffer.from(json, 'utf16le'),
      headers: { 'content-type': 'application/fhir+json; charset=utf-16' },
    });
    await expectOutcome(utf16, 415, /charset "utf-16" is not supported; FHIR requires UTF-8/);
    const latin1 = await fhirFetch(`${fhirUrl}/Patient`, {
      method: 'POST',
      raw: Buffer.from(json, 'latin1'),
      headers: { 'content-type': 'application/fhir+json;charset=ISO-8859-1' },
    });
    await expectOutcome(latin1, 415, /charset "iso-8859-1" is not supported/);
    for (const type of ['application/fhir+json; charset=UTF-8', 'application/fhir+json;charset="Utf-8"', 'application/json; charset=utf-8']) {
      const ok = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', raw: json, headers: { 'content-type': type } });
      expect(ok.status, type).to.equal(201);
      expect(ok.body.name?.[0].family).to.equal('Müller');
    }
  });

  it('a body that is not what its Content-Encoding says is a 400, an unknown encoding a 415; real gzip and deflate work', async () => {
    const json = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Zipped' }] });
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', raw: json, headers: { ...JSON_TYPE, 'content-encoding': encoding } });
      await expectOutcome(res, 400, /could not be read: it is not encoded as its Content-Encoding says/);
    }
    const unknown = await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', raw: json, headers: { ...JSON_TYPE, 'content-encoding': 'x-squeeze' } });
    await expectOutcome(unknown, 415, /Content-Encoding of the request body is not supported/);
    for (const [encoding, body] of [['gzip', gzipSync(json)], ['deflate', deflateSync(json)]] as const) {
      const ok = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', raw: body, headers: { ...JSON_TYPE, 'content-encoding': encoding } });
      expect(ok.status, encoding).to.equal(201);
      expect(ok.body.name?.[0].family).to.equal('Zipped');
    }
  });

  it('a resource id that is not a JSON string is a 400 that says so, wherever the id is read', async () => {
    // A conditional update with "id": {} answered 500 ("id.slice is not a function").
    const conditional = await fhirFetch(`${fhirUrl}/Patient?identifier=urn:test:id-type|1`, {
      method: 'PUT',
      body: { resourceType: 'Patient', id: {} },
    });
    await expectOutcome(conditional, 400, /id must be a JSON string .* not an object/);
    // A numeric id said `"12345" does not match "12345"`.
    const numeric = await fhirFetch<OperationOutcome>(`${fhirUrl}/Patient/12345`, { method: 'PUT', body: { resourceType: 'Patient', id: 12345 } });
    await expectOutcome(numeric, 400, /id must be a JSON string .* not a number/);
    expect(numeric.body.issue[0].expression).to.deep.equal(['Patient.id']);
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient', id: ['a'] } }),
      400,
      /id must be a JSON string .* not an array/,
    );
    const transaction = await fhirFetch(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { resourceType: 'Patient', id: 7 }, request: { method: 'PUT', url: 'Patient/7' } }],
      },
    });
    await expectOutcome(transaction, 400, /Bundle\.entry\[0\]: The resource's id must be a JSON string/);
    expect((await fhirFetch(`${fhirUrl}/Patient/12345`)).status).to.equal(404);
    expect((await fhirFetch(`${fhirUrl}/Patient/7`)).status).to.equal(404);
  });

  it('an encoded slash in the URL path is a 400, never a path separator', async () => {
    // Patient/a%2Fb was routed as Patient/a/b; Patient/%2F ran a Patient search.
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient/a%2Fb`), 400, /encoded "\/" in "a%2Fb"/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient/%2F`), 400, /encoded "\/"/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient%2F123`), 400, /encoded "\/"/);
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Patient/a%2fb`, { method: 'PUT', body: { resourceType: 'Patient', id: 'a/b' } }),
      400,
      /encoded "\/"/,
    );
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient/%E0%A4%A`), 400, /cannot be decoded/);
    const batch = await fhirFetch<Bundle>(fhirUrl, {
      method: 'POST',
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/a%2Fb' } }] },
    });
    expect(batch.status).to.equal(200);
    expect(batch.body.entry?.[0].response?.status).to.match(/^400/);
    expect(JSON.stringify(batch.body.entry?.[0].response?.outcome)).to.match(/Bundle\.entry\[0\]\.request\.url has an encoded/);
    // Other escapes still decode: %2D is "-".
    const created = await fhirFetch<Patient>(`${fhirUrl}/Patient/enc%2Dtest`, { method: 'PUT', body: { resourceType: 'Patient', id: 'enc-test' } });
    expect(created.status).to.equal(201);
  });

  it('a JSON Patch carried in a transaction Binary gets the same checks as a body', async () => {
    const created = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient' } });
    const patch = '[{"op":"add","path":"/extension","value":[{"url":"urn:test","valueDecimal":1e400}]}]';
    const res = await fhirFetch(fhirUrl, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(patch).toString('base64') },
            request: { method: 'PATCH', url: `Patient/${created.body.id}` },
          },
        ],
      },
    });
    await expectOutcome(res, 400, /Bundle\.entry\[0\]: the JSON Patch in the Binary has the number 1e400/);
    expect((await fhirFetch<Patient>(`${fhirUrl}/Patient/${created.body.id}`)).body.meta?.versionId).to.equal('1');
  });

  it('a Bundle entry or Parameters element of the wrong JSON type is a 400 naming it', async () => {
    const created = await fhirFetch<Patient>(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient' } });
    const id = created.body.id;
    const transaction = (entry: object) => fhirFetch(fhirUrl, { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: [entry] } });
    // Each of these answered 500.
    await expectOutcome(
      await transaction({ request: { method: 'PUT', url: `Patient/${id}`, ifMatch: 1 }, resource: { resourceType: 'Patient', id } }),
      400,
      /Bundle\.entry\[0\]\.request\.ifMatch must be a string/,
    );
    await expectOutcome(await transaction({ request: { method: 'PATCH', url: `Patient/${id}` }, resource: null }), 400, /carries a JSON Patch as a Binary/);
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Patient/$validate`, { method: 'POST', body: { resourceType: 'Parameters', parameter: { name: 'resource' } } }),
      400,
      /Parameters\.parameter must be an array/,
    );
    expect((await fhirFetch<Patient>(`${fhirUrl}/Patient/${id}`)).body.meta?.versionId).to.equal('1');
  });

  it('a percent-escape in a query, form or If-None-Exist that is not UTF-8 is a 400, not a search for U+FFFD', async () => {
    const before = await typeVersions('Patient');
    // Each was read with U+FFFD in place of the bytes and searched for (or created on no match).
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient?name=%FF`), 400, /query string cannot be decoded: "%FF"/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient?family=a%ED%A0%80b`), 400, /cannot be decoded/);
    await expectOutcome(await fhirFetch(`${fhirUrl}/Patient?name=50%`), 400, /cannot be decoded/);
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Patient/_search`, { method: 'POST', raw: 'name=%C3', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400,
      /form body cannot be decoded/,
    );
    await expectOutcome(
      await fhirFetch(`${fhirUrl}/Patient`, { method: 'POST', body: { resourceType: 'Patient' }, headers: { 'if-none-exist': 'identifier=urn:x|%FF' } }),
      400,
      /conditional criteria cannot be decoded/,
    );
    expect(await typeVersions('Patient')).to.equal(before);
    // Proper escapes still work.
    expect((await fhirFetch(`${fhirUrl}/Patient?name=M%C3%BCller%20x&_count=1`)).status).to.equal(200);
  });
});
