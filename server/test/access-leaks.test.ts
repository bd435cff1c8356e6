// Nothing of another patient leaks through any path: includes, reverse includes, chains, _has,
// history, conditional writes, transactions, totals, error messages or timing. Alice's token
// (a patient, every scope of her record) against Bob's data.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { buildWorld, type World } from './support/access-world.ts';

describe('access: nothing of another patient leaks', function () {
  this.timeout(300_000);
  let world: World;
  let token: string;
  const unique = `leak-${randomUUID()}`;
  let bobObservation: string;
  let bobFocusOnAlice: string;
  let bobCommunication: string;

  before(async () => {
    world = await buildWorld();
    token = world.tokens.patient;
    const bob = { reference: `Patient/${world.bob.id}` };
    bobObservation = await world.create({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:leak', code: unique }] }, subject: bob, valueString: 'secret' });
    // Bob's, though it mentions Alice (focus is not a compartment parameter of Observation).
    bobFocusOnAlice = await world.create({ resourceType: 'Observation', status: 'final', code: { text: 'about someone' }, subject: bob, focus: [{ reference: `Patient/${world.alice.id}` }] });
    bobCommunication = await world.create({
      resourceType: 'Communication',
      status: 'completed',
      identifier: [{ system: 'urn:leak', value: unique }],
      subject: bob,
      sender: { reference: `Practitioner/${world.practitioner}` },
      recipient: [bob],
      payload: [{ contentString: 'for Bob only' }],
    });
  });
  after(async () => {
    await world?.server.close();
  });

  async function get<T = Bundle>(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const res = await fetch(`${world.server.fhirUrl}/${path}`, {
      method: init.method ?? 'GET',
      headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/fhir+json' } : {}), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, text, body: (text ? JSON.parse(text) : undefined) as T };
  }
  const ids = (b: Bundle) => (b.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
  /** Nothing of Bob's: his ids and his data (the caller's own query or body may repeat `unique`). */
  const noBob = (text: string) => {
    expect(text).to.not.include(world.bob.id);
    for (const id of [bobObservation, bobFocusOnAlice, bobCommunication]) expect(text).to.not.include(id);
    expect(text).to.not.include('secret');
    expect(text).to.not.include('for Bob only');
  };

  it('_include and _revinclude never bring in another patient’s resources', async () => {
    const withSubject = await get(`Observation?patient=${world.alice.id}&_include=Observation:subject&_include=Observation:focus`);
    expect(withSubject.status).to.equal(200);
    noBob(withSubject.text);
    const reverse = await get(`Patient?_id=${world.alice.id}&_revinclude=Observation:focus&_revinclude=Observation:subject`);
    expect(reverse.status).to.equal(200);
    expect(ids(reverse.body)).to.not.include(`Observation/${bobFocusOnAlice}`);
    noBob(reverse.text);
  });

  it('a chain or _has through another patient’s resources matches nothing', async () => {
    const chain = await get(`Observation?subject:Patient.name=${encodeURIComponent(world.bob.name.split(' ')[1])}&_total=accurate`);
    expect(chain.status).to.equal(200);
    expect(chain.body.total).to.equal(0);
    const has = await get(`Patient?_has:Observation:subject:code=urn:leak|${unique}&_total=accurate`);
    expect(has.status).to.equal(200);
    expect(has.body.total).to.equal(0);
    noBob(has.text);
  });

  it('_total counts only what the caller may see', async () => {
    const res = await get(`Observation?code=urn:leak|${unique}&_total=accurate`);
    expect(res.body.total).to.equal(0);
    const summary = await get(`Communication?identifier=urn:leak|${unique}&_summary=count`);
    expect(summary.body.total).to.equal(0);
  });

  it('another patient’s resource answers exactly like one that does not exist: status, body, history, and about the same time', async () => {
    const theirs = await get<OperationOutcome>(`Observation/${bobObservation}`);
    const none = await get<OperationOutcome>(`Observation/${randomUUID()}`);
    expect(theirs.status).to.equal(404);
    expect(none.status).to.equal(404);
    const shape = (o: OperationOutcome) => o.issue.map((i) => [i.severity, i.code]);
    expect(shape(theirs.body)).to.deep.equal(shape(none.body));
    expect((await get(`Observation/${bobObservation}/_history`)).status).to.equal(404);
    expect((await get(`Observation/${bobObservation}/_history/1`)).status).to.equal(404);
    expect((await get('Observation/_history')).status, 'no history across patients for a patient token').to.equal(403);
    // Timing: the medians of 40 reads of each differ by less than a few milliseconds. The reads
    // alternate, so a busy moment of the machine slows both alike.
    const times: [number[], number[]] = [[], []];
    const paths = [`Observation/${bobObservation}`, `Observation/${randomUUID()}`];
    for (let i = 0; i < 80; i++) {
      const which = i % 2;
      const started = performance.now();
      await get(paths[which]);
      times[which].push(performance.now() - started);
    }
    const [a, b] = times.map((t) => t.sort((x, y) => x - y)[20]);
    expect(Math.abs(a - b), `medians ${a.toFixed(2)} and ${b.toFixed(2)} ms`).to.be.below(5);
  });

  it('a conditional create does not reveal a match the caller cannot see; conditional updates and deletes find nothing', async () => {
    const message = {
      resourceType: 'Communication',
      status: 'completed',
      identifier: [{ system: 'urn:leak', value: unique }],
      subject: { reference: `Patient/${world.alice.id}` },
      sender: { reference: `Patient/${world.alice.id}` },
      recipient: [{ reference: `Practitioner/${world.practitioner}` }],
      payload: [{ contentString: 'hello' }],
    };
    const created = await get('Communication', { method: 'POST', body: message, headers: { 'if-none-exist': `identifier=urn:leak|${unique}` } });
    expect(created.status, 'no visible match: created').to.equal(201);
    expect(created.body.id).to.not.equal(bobCommunication);
    noBob(created.text);
    const update = await get(`Observation?code=urn:leak|${unique}`, { method: 'DELETE' });
    expect(update.status).to.equal(404);
  });

  it('a transaction reaching another patient fails without saying more than for a resource that does not exist', async () => {
    const entry = (url: string) => ({ request: { method: 'GET', url } });
    const read = await get('', { method: 'POST', body: { resourceType: 'Bundle', type: 'batch', entry: [entry(`Observation/${bobObservation}`), entry(`Observation/${randomUUID()}`)] } });
    expect(read.status).to.equal(200);
    const statuses = (read.body.entry ?? []).map((e) => e.response?.status);
    expect(statuses).to.deep.equal(['404 Not Found', '404 Not Found']);
    // The two answers say the same thing, each naming only the id the caller sent.
    const [theirs, none] = (read.body.entry ?? []).map((e) => JSON.stringify(e.response?.outcome).replace(/Observation\/[A-Za-z0-9-]+/g, 'Observation/X'));
    expect(theirs).to.equal(none);
    expect(read.text).to.not.include('secret');
    const write = await get('', {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ request: { method: 'DELETE', url: `Observation/${bobObservation}` } }],
      },
    });
    const missing = await get('', {
      method: 'POST',
      body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `Observation/${randomUUID()}` } }] },
    });
    expect(write.status).to.equal(missing.status);
    expect(write.text.replace(bobObservation, 'X')).to.not.include(world.bob.id);
    // A conditional reference to another patient does not resolve to them.
    const linked = await get('', {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: {
              resourceType: 'Communication',
              status: 'completed',
              subject: { reference: `Patient?identifier=https://health-records.dev/fhir/sid/mrn|${world.bob.mrn}` },
              sender: { reference: `Patient/${world.alice.id}` },
              recipient: [{ reference: `Practitioner/${world.practitioner}` }],
            },
            request: { method: 'POST', url: 'Communication' },
          },
        ],
      },
    });
    expect(linked.status).to.be.within(400, 499);
    noBob(linked.text);
  });
});
