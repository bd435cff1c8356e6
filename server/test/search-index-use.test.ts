// The portal's everyday searches and the staff's patient lookups compile to queries the database
// answers from an index: the patient partition key leads the portal's, and `explain` shows an
// index search, not a collection scan.
// (The point here is the query plan, so the compiled filter is explained directly.)
import { expect } from 'chai';
import type { Db, Document } from 'mongodb';
import { loadConfig } from '../src/config.ts';
import { compileFilter, parseSearchRequest, searchParamRegistry } from '../src/fhir/search/index.ts';
import { KeyHints, wantsKeyHints } from '../src/fhir/search/key-hints.ts';
import { testServer } from './support/test-server.ts';
import { fhirFetch } from './support/http.ts';

/** True when the plan uses an index: MongoDB IXSCAN, or SQLite "USING INDEX" under FerretDB. */
function usesIndex(explain: Document): { indexed: boolean; plan: string } {
  const plan = JSON.stringify(explain.queryPlanner ?? explain);
  return { indexed: /IXSCAN|USING INDEX|USING COVERING INDEX/.test(plan) && !/COLLSCAN/.test(plan), plan };
}

describe('search: everyday portal queries and patient lookups use indexes', () => {
  let fhirUrl: string;
  let db: Db;
  const patientId = `idx-${Date.now().toString(36)}`;
  const registry = searchParamRegistry();
  const limits = loadConfig({}).searchLimits;

  before(async () => {
    const server = await testServer();
    fhirUrl = server.fhirUrl;
    db = server.running.database.db;
    const subject = { reference: `Patient/${patientId}` };
    const put = (type: string, id: string, body: Record<string, unknown>) =>
      fhirFetch(`${fhirUrl}/${type}/${id}`, { method: 'PUT', body: { resourceType: type, id, ...body } });
    const patient = {
      name: [{ family: 'Index', given: ['Ida'] }],
      birthDate: '1970-02-03',
      identifier: [{ system: 'urn:test:mrn', value: `MRN-${patientId}` }],
      telecom: [{ system: 'phone', value: '(503) 555-0199' }, { system: 'email', value: `${patientId}@example.org` }],
    };
    expect((await put('Patient', patientId, patient)).status).to.equal(201);
    for (let i = 0; i < 5; i++) {
      await put('Observation', `${patientId}-o${i}`, {
        status: 'final',
        subject,
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
        effectiveDateTime: `2024-0${i + 1}-01`,
      });
    }
    await put('Appointment', `${patientId}-a`, {
      status: 'booked',
      start: '2030-01-01T10:00:00Z',
      end: '2030-01-01T10:30:00Z',
      participant: [{ actor: subject, status: 'accepted' }],
    });
    await put('Communication', `${patientId}-c`, { status: 'completed', subject, sent: '2024-05-01T10:00:00Z' });
    await put('Invoice', `${patientId}-i`, { status: 'issued', subject });
  });

  const queries: Array<[string, string]> = [
    ['Observation', `patient=${'{p}'}&category=laboratory&_sort=-date&_count=50`],
    ['Observation', `patient=${'{p}'}&code=http://loinc.org|4548-4&_sort=date`],
    ['Appointment', `patient=${'{p}'}&date=ge2025-01-01`],
    ['Communication', `subject=Patient/${'{p}'}&_sort=-sent`],
    ['Invoice', `subject=Patient/${'{p}'}&status=issued`],
  ];

  // Staff lookups: on MongoDB from its indexes (search-indexes.ts); on the local database, which
  // has no multikey index, narrowed by _id through the lookup keys (key-hints.ts).
  const lookups = [
    'name=index',
    'family=Ind',
    'given=ida',
    'birthdate=1970-02-03',
    'phone=(503) 555-0199',
    `email={p}@example.org`,
    'identifier=urn:test:mrn|MRN-{p}',
    'name=index&birthdate=1970-02',
  ];
  for (const query of lookups) {
    it(`Patient?${query} explains as an index search`, async () => {
      const q = query.replaceAll('{p}', patientId);
      const res = await fhirFetch<{ entry?: Array<{ resource?: { id?: string } }> }>(`${fhirUrl}/Patient?${new URLSearchParams(q)}`);
      expect(res.status).to.equal(200);
      expect(res.body.entry?.map((e) => e.resource?.id), 'the search finds the test patient').to.include(patientId);
      const request = parseSearchRequest([...new URLSearchParams(q).entries()], { types: ['Patient'], registry, defaultCount: 20, maxCount: 1000, strict: true, limits });
      const keyHints = (await wantsKeyHints(db, 'auto')) ? new KeyHints(db) : undefined;
      const filter = await compileFilter('Patient', request, { db, registry, baseUrl: fhirUrl, restrict: () => undefined, keyHints, limits });
      const { indexed, plan } = usesIndex(await db.collection('Patient').find(filter).sort({ _id: 1 }).limit(21).explain());
      expect(indexed, plan).to.equal(true);
    });
  }

  for (const [type, query] of queries) {
    it(`${type}?${query} leads with the partition key and explains as an index search`, async () => {
      const q = query.replaceAll('{p}', patientId);
      const res = await fhirFetch<{ total?: number; entry?: unknown[] }>(`${fhirUrl}/${type}?${q}`);
      expect(res.status).to.equal(200);
      expect(res.body.entry?.length ?? 0, 'the search finds the test data').to.be.greaterThan(0);

      const request = parseSearchRequest([...new URLSearchParams(q).entries()], {
        types: [type],
        registry,
        defaultCount: 20,
        maxCount: 1000,
        strict: true,
        limits,
      });
      const filter = await compileFilter(type, request, { db, registry, baseUrl: fhirUrl, restrict: () => undefined, limits });
      expect(JSON.stringify(filter)).to.match(/"patient":/);
      const { indexed, plan } = usesIndex(await db.collection(type).find(filter).explain());
      expect(indexed, plan).to.equal(true);
    });
  }
});
