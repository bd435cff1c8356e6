// What reaches the log when something goes wrong: never a resource's values, a database error's
// message (which quotes the values it refused) or source code; hostile input is not a server error.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { MongoClient, MongoServerError } from 'mongodb';
import { pino } from 'pino';
import { errorResponse } from '../src/fhir/http/fhir-http-handler.ts';
import { spawnServerProcess, testDatabaseUri } from './support/test-server.ts';
import { authorizationFor } from './support/test-auth.ts';

const MARKER = 'Qzxvlogmarker';

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('error logs', function () {
  this.timeout(120_000);
  let child: ChildProcess | undefined;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('hostile bodies from the hardening review get a 4xx and leave no error, value or source code in the log', async () => {
    const uri = await testDatabaseUri();
    const server = await spawnServerProcess({ MONGODB_URI: uri, MONGODB_DB: `errlog_${process.pid}`, LOG_LEVEL: 'info' });
    child = server.child;
    const fhir = `${server.baseUrl}/fhir`;
    const post = async (path: string, body: string, headers: Record<string, string> = {}, method = 'POST') =>
      fetch(`${fhir}/${path}`, { method, headers: { 'content-type': 'application/fhir+json', ...(await authorizationFor(fhir)), ...headers }, body });

    let deepExtension = `{"url":"urn:test","valueString":"${MARKER}"}`;
    for (let i = 0; i < 1000; i++) deepExtension = `{"url":"urn:test","extension":[${deepExtension}]}`;
    let deepValue = `"${MARKER}"`;
    for (let i = 0; i < 20_000; i++) deepValue = `{"a":${deepValue}}`;
    const answers = [
      // The database refused Infinity and the error, quoting the value, was logged.
      await post('Observation', `{"resourceType":"Observation","status":"final","code":{"text":"${MARKER}"},"valueQuantity":{"value":1e400}}`),
      await post('Patient', `{"resourceType":"Patient","name":[{"family":"${MARKER}"}]}`, { 'content-encoding': 'gzip' }),
      await post('Patient', `{"resourceType":"Patient","extension":[${deepExtension}]}`),
      // Overflowed the stack in reference rewriting; V8 printed the transpiled module to stderr.
      await post(
        '',
        '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Basic"},' +
          `"resource":{"resourceType":"Basic","code":{"text":"x"},"x":${deepValue}}}]}`,
      ),
      await post('Patient?identifier=urn:test|1', `{"resourceType":"Patient","id":{},"name":[{"family":"${MARKER}"}]}`, {}, 'PUT'),
    ];
    child.kill('SIGTERM'); // flushes the log
    expect(await exitOf(child)).to.equal(0);
    const output = server.output();
    const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.filter((l) => l.level >= 50), 'error lines').to.deep.equal([]);
    expect(output).to.not.include(MARKER);
    expect(output).to.not.include('+Inf');
    expect(output).to.not.match(/PromiseRejectCallback|__defProp|Maximum call stack/);
    expect(answers.map((r) => r.status)).to.deep.equal([400, 400, 400, 400, 400]);
  });

  it('an unexpected database error is logged by name, code and stack frames, never by its message', async () => {
    // Real errors of the test database: a duplicate key (MongoDB quotes the key in the message)
    // and, where the database refuses it, Infinity (FerretDB quotes the element).
    const client = await MongoClient.connect(await testDatabaseUri());
    const errors: MongoServerError[] = [];
    try {
      const coll = client.db(`errlog_direct_${process.pid}`).collection<{ _id: string; q?: object }>('x');
      for (const doc of [{ _id: MARKER }, { _id: MARKER }, { _id: 'inf', q: { unit: MARKER, value: Infinity } }]) {
        try {
          await coll.insertOne(doc);
        } catch (err) {
          if (err instanceof MongoServerError) errors.push(err);
        }
      }
      await coll.drop();
    } finally {
      await client.close();
    }
    expect(errors.length).to.be.at.least(1);

    for (const err of errors) {
      const written: string[] = [];
      const log = pino({ level: 'info' }, { write: (line: string) => void written.push(line) });
      const res = errorResponse(err, log, 'req-1');
      expect(res.status).to.equal(500);
      expect(JSON.stringify(res.body)).to.include('req-1');
      expect(written).to.have.length(1);
      const line = JSON.parse(written[0]) as { msg: string; requestId: string; err: { name: string; code: number; frames: string[] } };
      expect(line.msg).to.equal('unhandled error');
      expect(line.requestId).to.equal('req-1');
      expect(line.err.name).to.equal('MongoServerError');
      expect(line.err.code).to.equal(err.code);
      expect(line.err.frames.length).to.be.at.least(1);
      for (const frame of line.err.frames) expect(frame).to.match(/^at /);
      expect(written[0]).to.not.include(err.message);
      expect(written[0]).to.not.include(MARKER);
      expect(written[0]).to.not.include('+Inf');
    }
  });
});
