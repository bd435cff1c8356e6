// The lookups the token check makes on every request, coalesced (auth/coalesced-lookups.ts):
// concurrent lookups share queries, each gets exactly its own records (also when a key has more
// records than the query made room for), and none is answered from a query sent before it.
import { expect } from 'chai';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { CoalescedLookup } from '../src/auth/coalesced-lookups.ts';
import { testDatabaseUri } from './support/test-server.ts';

describe('auth: coalesced lookups of tokens and sessions', () => {
  let client: MongoClient;
  let db: Db;
  const commands: CommandStartedEvent[] = [];

  before(async () => {
    client = new MongoClient(await testDatabaseUri(), { monitorCommands: true });
    await client.connect();
    client.on('commandStarted', (e) => commands.push(e));
    db = client.db(`coalesced_${Date.now().toString(36)}`);
    const docs = Array.from({ length: 40 }, (_, i) => ({ _id: `s${i}`, model: 'Session', uid: `u${i % 20}` }));
    // One uid with more records than a one-key query makes room for (2 × keys + 2).
    for (let i = 0; i < 6; i++) docs.push({ _id: `many${i}`, model: 'Session', uid: 'crowded' });
    docs.push({ _id: 'other-model', model: 'Grant', uid: 'u1' });
    await db.collection('auth_session').insertMany(docs as never[]);
  });
  after(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
  });

  it('answers each of many concurrent lookups with exactly its own records, in fewer queries than lookups', async () => {
    const lookup = new CoalescedLookup<{ _id: string; uid: string }>(db, 'auth_session', 'uid', { model: 'Session' });
    commands.length = 0;
    const keys = [...Array.from({ length: 60 }, (_, i) => `u${i % 25}`), 'crowded'];
    const answers = await Promise.all(keys.map((k) => lookup.find(k)));
    keys.forEach((k, i) => {
      const expected = k === 'crowded' ? 6 : Number(k.slice(1)) < 20 ? 2 : 0;
      expect(answers[i].map((d) => d.uid), k).to.deep.equal(Array(expected).fill(k));
    });
    expect(commands.filter((c) => c.commandName === 'find').length).to.be.lessThan(keys.length / 4);
    // Alone, the crowded uid fills its query's room: it is read again without a bound.
    expect((await lookup.find('crowded')).map((d) => d._id).sort()).to.deep.equal(['many0', 'many1', 'many2', 'many3', 'many4', 'many5']);
  });

  it('never answers a lookup from a query sent before it: a record deleted first is not found', async () => {
    const lookup = new CoalescedLookup<{ _id: string }>(db, 'auth_session', '_id');
    await db.collection('auth_session').insertOne({ _id: 'doomed', model: 'Session', uid: 'd' } as never);
    const early = lookup.find('doomed'); // its query goes now
    await db.collection('auth_session').deleteOne({ _id: 'doomed' } as never);
    const late = lookup.find('doomed'); // after the deletion: must wait for a query of its own
    expect((await early).length).to.be.oneOf([0, 1]);
    expect(await late).to.deep.equal([]);
  });
});
