// What a patient's search asks the database: the access conditions of the token go into the
// query (access/access-policy.ts), but a condition the search already implies is not sent twice
// (search/compile/implied-conditions.ts): the portal's searches of a patient's own records pin the
// partition key, which implies the token's compartment condition. Watched through the driver's
// command monitoring; the answers are checked too.
import { expect } from 'chai';
import type { Bundle } from 'fhir/r4';
import type { Document } from 'mongodb';
import { createPatient, startAccountsServer, type AccountsServer } from './support/accounts.ts';
import { createWith } from './support/access-world.ts';
import { People } from './support/people.ts';

const LAB = { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' };
const LOINC = 'http://loinc.org|4548-4';

describe('access: a patient token’s conditions in the database query', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  let token: string;
  let patient: string;
  let other: string;
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startAccountsServer({ watchCommands: true });
    const alice = await createPatient(server);
    const bob = await createPatient(server);
    patient = alice.id;
    other = bob.id;
    for (const [key, who] of [['mine', patient], ['theirs', other]] as const) {
      ids[`obs ${key}`] = await createWith(server, {
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [LAB] }],
        code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }], text: 'HbA1c' },
        subject: { reference: `Patient/${who}` },
        effectiveDateTime: new Date(Date.now() - 3 * 86_400_000).toISOString(),
        valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      });
      ids[`appt ${key}`] = await createWith(server, {
        resourceType: 'Appointment',
        status: 'booked',
        start: new Date(Date.now() + 10 * 86_400_000).toISOString(),
        end: new Date(Date.now() + 10.02 * 86_400_000).toISOString(),
        participant: [{ actor: { reference: `Patient/${who}` }, status: 'accepted' }],
      });
    }
    token = (await new People(server).patientToken(alice, ['launch/patient', 'patient/Observation.rs', 'patient/Appointment.rs'])).token;
  });
  after(async () => {
    await server?.close();
  });

  /** The answer to a search with the patient's token, and the filters of the finds it sent on `type`. */
  async function search(type: string, query: string): Promise<{ ids: string[]; filters: Document[] }> {
    const client = server.running.database.client;
    const filters: Document[] = [];
    const watch = (e: { commandName: string; command: Document }) => {
      if (e.commandName === 'find' && e.command.find === type) filters.push(e.command.filter as Document);
    };
    client.on('commandStarted', watch);
    try {
      const res = await fetch(`${server.fhirUrl}/${type}?${query}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).to.equal(200);
      const bundle = (await res.json()) as Bundle;
      return { ids: (bundle.entry ?? []).map((e) => String(e.resource?.id)), filters };
    } finally {
      client.off('commandStarted', watch);
    }
  }

  /** Every $or condition in a filter (top level and under $and). */
  const ors = (filter: Document): unknown[] => [...(filter.$or ? [filter.$or] : []), ...((filter.$and as Document[] | undefined) ?? []).flatMap(ors)];

  it('a patient’s search of their own results pins their partition once, without the compartment condition it implies', async () => {
    const { ids: found, filters } = await search('Observation', `patient=${patient}&code=${encodeURIComponent(LOINC)}`);
    expect(found).to.deep.equal([ids['obs mine']]);
    expect(filters).to.have.length(1);
    expect(filters[0].patient).to.equal(patient);
    expect(ors(filters[0]), 'conditions the partition key already implies').to.deep.equal([]);
  });

  it('a patient’s search of their appointments sends the compartment membership once', async () => {
    const { ids: found, filters } = await search('Appointment', `patient=${patient}`);
    expect(found).to.deep.equal([ids['appt mine']]);
    expect(filters).to.have.length(1);
    expect(ors(filters[0])).to.deep.equal([[{ patient }, { patients: patient }]]);
  });

  it('a search without the patient keeps the token’s condition, and a search about another patient finds nothing', async () => {
    const all = await search('Observation', `code=${encodeURIComponent(LOINC)}`);
    expect(all.ids).to.deep.equal([ids['obs mine']]);
    expect(ors(all.filters[0])).to.deep.equal([[{ patient }, { patients: patient }]]);
    expect((await search('Observation', `patient=${other}`)).ids).to.deep.equal([]);
    expect((await search('Appointment', `patient=${other}`)).ids).to.deep.equal([]);
  });
});
