// Reference search, chains, reverse chains and includes on a random graph, checked against a model:
// Patients (random family names and genders), Groups, Encounters of a patient, and Observations
// whose subject is a Patient (written relative, as an absolute URL of this server, or with a
// trailing _history version), a Group or an external URL, some with an Encounter. Searched by every
// way of naming the target (Type/id, id alone, :Type, absolute URL, comma lists), through chains
// one and two levels deep, _has, and with _include/_revinclude, whose included entries must be
// exactly the resources the matches point at (or that point at them).
// See: https://hl7.org/fhir/R4/search.html#reference, #chaining, #has and #include
import { expect } from 'chai';
import type { Bundle, Encounter, FhirResource, Group, Observation, Patient } from 'fhir/r4';
import { fhirFetch } from './support/http.ts';
import { testServer } from './support/test-server.ts';
import { generator, propertyFixtures, type PropertyFixture, type Random } from './support/search-properties.ts';

const SEED = 20261121;
const RUN = `refs${Date.now().toString(36)}`;
const TAG = `urn:search-test|${RUN}`;
const FAMILIES = ['Nguyen', 'Núñez', 'Nash', 'Okafor', 'Olsen'];
const CODES = ['718-7', '2345-7', '4548-4'];

interface Fixture extends PropertyFixture {
  id: string;
  resource: FhirResource;
}

interface Graph {
  fixtures: Fixture[];
  patients: Array<{ id: string; family: string; gender: 'male' | 'female' }>;
  encounters: Array<{ id: string; patient: string }>;
  observations: Array<{ id: string; subject: { type: 'Patient' | 'Group' | 'external'; id: string }; encounter?: string; code: string }>;
}

const tagged = { tag: [{ system: 'urn:search-test', code: RUN }] };

/** Absolute references are written with this placeholder for the server's base URL, filled in before loading. */
const BASE = '{base}';

function graph(rnd: Random): Graph {
  const g: Graph = { fixtures: [], patients: [], encounters: [], observations: [] };
  const add = (resource: FhirResource, written: string) => g.fixtures.push({ key: resource.id as string, id: resource.id as string, written, resource });
  for (let i = 0; i < 10; i++) {
    const p = { id: `${RUN}-p${i}`, family: rnd.pick(FAMILIES), gender: rnd.pick(['male', 'female'] as const) };
    g.patients.push(p);
    add({ resourceType: 'Patient', id: p.id, meta: tagged, name: [{ family: p.family }], gender: p.gender } satisfies Patient, `${p.family} ${p.gender}`);
  }
  add({ resourceType: 'Group', id: `${RUN}-g0`, meta: tagged, type: 'person', actual: true } satisfies Group, 'group');
  for (let i = 0; i < 8; i++) {
    const e = { id: `${RUN}-e${i}`, patient: rnd.pick(g.patients).id };
    g.encounters.push(e);
    add(
      { resourceType: 'Encounter', id: e.id, meta: tagged, status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${e.patient}` } } satisfies Encounter,
      `of ${e.patient}`,
    );
  }
  for (let i = 0; i < 40; i++) {
    const kind = rnd.next();
    const subject: Graph['observations'][number]['subject'] =
      kind < 0.75 ? { type: 'Patient', id: rnd.pick(g.patients).id } : kind < 0.9 ? { type: 'Group', id: `${RUN}-g0` } : { type: 'external', id: `ext${i}` };
    const encounter = subject.type === 'Patient' && rnd.next() < 0.5 ? g.encounters.find((e) => e.patient === subject.id)?.id : undefined;
    const form = rnd.pick(['relative', 'absolute', 'versioned'] as const);
    const reference =
      subject.type === 'external'
        ? `https://elsewhere.example/fhir/Patient/${subject.id}`
        : form === 'absolute'
          ? `${BASE}/${subject.type}/${subject.id}`
          : form === 'versioned'
            ? `${subject.type}/${subject.id}/_history/1`
            : `${subject.type}/${subject.id}`;
    const o = { id: `${RUN}-o${i}`, subject, encounter, code: rnd.pick(CODES) };
    g.observations.push(o);
    add(
      {
        resourceType: 'Observation',
        id: o.id,
        meta: tagged,
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: o.code }] },
        subject: { reference },
        ...(encounter ? { encounter: { reference: `Encounter/${encounter}` } } : {}),
      } satisfies Observation,
      `${reference}${encounter ? ` in ${encounter}` : ''}`,
    );
  }
  return g;
}

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

describe('FHIR search: references, chains, _has and includes agree with a model of a random graph', () => {
  const rnd = generator(SEED);
  const g = graph(rnd);
  let fhirUrl = '';
  // Registered before the fixtures' own hook, so it runs first: the absolute references get the
  // server's base URL.
  before(async () => {
    ({ fhirUrl } = await testServer());
    for (const f of g.fixtures) {
      const subject = f.resource.resourceType === 'Observation' ? f.resource.subject : undefined;
      if (subject?.reference?.startsWith(BASE)) subject.reference = fhirUrl + subject.reference.slice(BASE.length);
      f.written = f.written.replace(BASE, fhirUrl);
    }
  });
  const server = propertyFixtures(g.fixtures, TAG);

  const obsOf = (patient: string) => g.observations.filter((o) => o.subject.type === 'Patient' && o.subject.id === patient).map((o) => o.id);

  it('subject, named every way, finds exactly the Observations that reference the target', async () => {
    const queries = [];
    for (let q = 0; q < 60; q++) {
      const targets = Array.from({ length: rnd.pick([1, 1, 2]) }, () => rnd.pick(g.patients).id);
      const form = rnd.pick(['Type/id', 'id', ':Patient', 'absolute'] as const);
      const value = targets.map((t) => (form === 'Type/id' ? `Patient/${t}` : form === 'absolute' ? `${fhirUrl}/Patient/${t}` : t)).join(',');
      queries.push({ param: form === ':Patient' ? 'subject:Patient' : 'subject', value, expected: [...new Set(targets.flatMap(obsOf))] });
    }
    queries.push({ param: 'subject', value: `Group/${RUN}-g0`, expected: g.observations.filter((o) => o.subject.type === 'Group').map((o) => o.id) });
    queries.push({ param: 'subject:Group', value: `${RUN}-g0`, expected: g.observations.filter((o) => o.subject.type === 'Group').map((o) => o.id) });
    queries.push({ param: 'subject:missing', value: 'true', expected: [] });
    await server.check('Observation', queries);
  });

  it('chains one and two levels deep and _has find exactly what the model joins', async () => {
    const queries = [];
    for (const family of FAMILIES) {
      const prefix = fold(family).slice(0, rnd.int(2, 4));
      const patients = g.patients.filter((p) => fold(p.family).startsWith(prefix)).map((p) => p.id);
      queries.push({ param: 'subject:Patient.family', value: prefix, expected: patients.flatMap(obsOf) });
    }
    for (const gender of ['male', 'female']) {
      const patients = new Set(g.patients.filter((p) => p.gender === gender).map((p) => p.id));
      const encounters = new Set(g.encounters.filter((e) => patients.has(e.patient)).map((e) => e.id));
      const viaEncounter = g.observations.filter((o) => o.encounter && encounters.has(o.encounter)).map((o) => o.id);
      queries.push({ param: 'encounter.subject:Patient.gender', value: gender, expected: viaEncounter });
      queries.push({ param: 'encounter:Encounter.patient.gender', value: gender, expected: viaEncounter });
    }
    await server.check('Observation', queries);

    const hasQueries = CODES.map((code) => ({
      param: '_has:Observation:subject:code',
      value: `http://loinc.org|${code}`,
      expected: g.patients.filter((p) => g.observations.some((o) => o.code === code && o.subject.type === 'Patient' && o.subject.id === p.id)).map((p) => p.id),
    }));
    await server.check('Patient', hasQueries);
  });

  it('_include and _revinclude add exactly the resources the matches reference, or that reference them', async () => {
    for (let q = 0; q < 12; q++) {
      const code = rnd.pick(CODES);
      const matches = g.observations.filter((o) => o.code === code);
      const res = await fhirFetch<Bundle>(
        `${fhirUrl}/Observation?code=http://loinc.org|${code}&_tag=${encodeURIComponent(TAG)}&_include=Observation:subject&_include=Observation:encounter&_count=100`,
      );
      expect(res.status).to.equal(200);
      const byMode = (mode: string) => (res.body.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => e.resource?.id).sort();
      expect(byMode('match')).to.deep.equal(matches.map((o) => o.id).sort());
      const included = new Set<string>();
      for (const o of matches) {
        if (o.subject.type !== 'external') included.add(o.subject.id);
        if (o.encounter) included.add(o.encounter);
      }
      expect(byMode('include'), `code ${code}`).to.deep.equal([...included].sort());
    }
    for (const p of g.patients) {
      const res = await fhirFetch<Bundle>(`${fhirUrl}/Patient?_id=${p.id}&_revinclude=Observation:subject&_revinclude=Encounter:patient`);
      expect(res.status).to.equal(200);
      const ids = (res.body.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource?.id).sort();
      const expected = [...obsOf(p.id), ...g.encounters.filter((e) => e.patient === p.id).map((e) => e.id)].sort();
      expect(ids, p.id).to.deep.equal(expected);
    }
  });
});
