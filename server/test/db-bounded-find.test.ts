// Bounded reads (search pages, id lists, capped sub-queries) go to the database as one find
// command; what the driver's cursor would have done must still happen: sort, projection, limit,
// and a first reply cut short (MongoDB caps a reply at 16 MiB) followed to the end.
import { expect } from 'chai';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { findBounded } from '../src/db/bounded-find.ts';
import { loadConfig } from '../src/config.ts';
import { SearchBudget } from '../src/fhir/search/execute/search-budget.ts';
import { findByIds } from '../src/fhir/search/execute/search-database.ts';
import { testDatabaseUri } from './support/test-server.ts';

describe('database: bounded finds as one command', () => {
  let client: MongoClient;
  let db: Db;
  const commands: CommandStartedEvent[] = [];

  before(async () => {
    client = new MongoClient(await testDatabaseUri(), { monitorCommands: true });
    await client.connect();
    client.on('commandStarted', (e) => commands.push(e));
    db = client.db(`bounded_${Date.now().toString(36)}`);
    await db.collection('Thing').insertMany(
      Array.from({ length: 30 }, (_, i) => ({ _id: `t${String(i).padStart(2, '0')}`, n: i % 3, label: `thing ${i}`, extra: 'x' })) as never[],
    );
  });
  after(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
  });
  beforeEach(() => {
    commands.length = 0;
  });

  it('returns the matching documents in sort order, projected and limited, in one round trip', async () => {
    const docs = await findBounded(db, 'Thing', { filter: { n: 1 }, sort: { _id: -1 }, projection: { label: 1 }, limit: 4 });
    expect(docs).to.deep.equal([
      { _id: 't28', label: 'thing 28' },
      { _id: 't25', label: 'thing 25' },
      { _id: 't22', label: 'thing 22' },
      { _id: 't19', label: 'thing 19' },
    ]);
    expect(commands[0].commandName).to.equal('find');
    expect(commands[0].command).to.include({ limit: 4 });
    // Nothing after it: no second query, and no cursor left open at the limit to close.
    await new Promise((r) => setTimeout(r, 50));
    expect(commands.map((c) => c.commandName)).to.deep.equal(['find']);
  });

  it('returns fewer documents than the limit when fewer match, and none when none do', async () => {
    expect((await findBounded(db, 'Thing', { filter: { n: 2 }, limit: 100 })).map((d) => d._id)).to.have.length(10);
    expect(await findBounded(db, 'Thing', { filter: { n: 7 }, limit: 5 })).to.deep.equal([]);
    expect(await findBounded(db, 'Missing', { filter: {}, limit: 5 })).to.deep.equal([]);
    expect(commands.map((c) => c.commandName)).to.deep.equal(['find', 'find', 'find']);
  });

  it('follows a first reply cut short to the end, and closes the cursor it leaves', async () => {
    // A first batch smaller than the limit stands for a reply the database cut at its size limit.
    const docs = await findBounded(db, 'Thing', { filter: { n: 0 }, sort: { _id: 1 }, projection: { _id: 1 }, limit: 8, batchSize: 3 });
    expect(docs.map((d) => d._id)).to.deep.equal(['t00', 't03', 't06', 't09', 't12', 't15', 't18', 't21']);
    const names = commands.map((c) => c.commandName);
    expect(names.slice(0, 3)).to.deep.equal(['find', 'killCursors', 'find']);
    // The cursor id goes back as a 64-bit integer, or the local database keeps the cursor open.
    expect((commands[1].command.cursors as Array<{ _bsontype?: string }>)[0]._bsontype).to.equal('Long');
  });

  it('answers a lookup that finds exactly its limit (a token by its id) in one round trip, 300 in a row', async () => {
    // A reply of exactly `limit` documents must not leave a cursor open: closing it would cost a
    // second round trip, and cursors left open exhaust the local database after about 100.
    for (let i = 0; i < 300; i++) {
      const docs = await Promise.race([
        findBounded(db, 'Thing', { filter: { _id: 't01' }, limit: 1 }),
        new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 5000)),
      ]);
      expect(docs, `find ${i + 1}`).to.not.equal('stalled');
      expect((docs as Array<{ _id: string }>).map((d) => d._id)).to.deep.equal(['t01']);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(commands.filter((c) => c.commandName !== 'find').map((c) => c.commandName), 'commands besides the finds').to.deep.equal([]);
  });

  it('treats operator-looking values in the filter as the values they are', async () => {
    await db.collection('Thing').insertOne({ _id: 'odd', n: '{"$gt":""}', label: '$where' } as never);
    expect((await findBounded(db, 'Thing', { filter: { n: '{"$gt":""}' }, limit: 5 })).map((d) => d._id)).to.deep.equal(['odd']);
    expect((await findBounded(db, 'Thing', { filter: { label: '$where' }, limit: 5 })).map((d) => d._id)).to.deep.equal(['odd']);
  });

  it('refuses a query without a positive limit', async () => {
    for (const limit of [0, -1, Number.NaN]) {
      let failed = false;
      await findBounded(db, 'Thing', { filter: {}, limit }).catch(() => (failed = true));
      expect(failed, `limit ${limit}`).to.equal(true);
    }
    expect(commands).to.have.length(0);
  });

  it('fetches long id lists (includes) in chunks, with the access restriction on every chunk', async () => {
    await db.collection('Many').insertMany(Array.from({ length: 1100 }, (_, i) => ({ _id: `m${i}`, patient: i % 2 ? 'p1' : 'p2' })) as never[]);
    const ids = [...Array.from({ length: 1100 }, (_, i) => `m${i}`), 'missing-1', 'missing-2'];
    commands.length = 0;
    const budget = new SearchBudget(loadConfig({}).searchLimits);
    const all = await findByIds(db, 'Many', ids, undefined, undefined, budget);
    expect(new Set(all.map((d) => d._id)).size).to.equal(1100);
    expect(commands.filter((c) => c.commandName === 'find')).to.have.length(3);
    const mine = await findByIds(db, 'Many', ids, { patient: 'p1' }, undefined, budget);
    expect(mine).to.have.length(550);
    expect(mine.every((d) => d.patient === 'p1')).to.equal(true);
    expect(await findByIds(db, 'Many', ['m1'], { patient: 'p2' }, undefined, budget)).to.deep.equal([]);
  });
});
