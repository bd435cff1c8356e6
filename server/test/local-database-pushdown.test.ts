// The local database build patches FerretDB so that filters are pushed down to SQLite (see
// server/src/db/ferretdb-patches/). A pushdown may only narrow what FerretDB filters exactly, so
// every query here must answer exactly what MongoDB answers. Against MONGODB_URI the same
// expectations hold, which is the point: the patched database must behave like MongoDB.
import { expect } from 'chai';
import { MongoClient, type Collection, type Document, type Filter } from 'mongodb';

type TestDoc = { _id: string } & Document;
import { testDatabaseUri } from './support/test-server.ts';

describe('local database: pushed-down filters answer like MongoDB', () => {
  let client: MongoClient;
  let coll: Collection<TestDoc>;

  before(async () => {
    client = new MongoClient(await testDatabaseUri());
    await client.connect();
    const db = client.db(`pushdown_${Date.now().toString(36)}`);
    coll = db.collection<TestDoc>('Observation');
    await coll.createIndex({ patient: 1, ts: -1 });
    await coll.createIndex({ patients: 1 });
    await coll.insertMany([
      { _id: 'plain', patient: 'p1', sp: { code: { sc: ['loinc|1', 'loinc|2'] }, status: { c: 'final' } } },
      { _id: 'other', patient: 'p2', sp: { code: { sc: ['loinc|3'] }, status: { c: 'final' } } },
      { _id: 'array-field', patient: ['p1', 'p9'], sp: { code: { sc: 'loinc|1' } } },
      { _id: 'many', patient: 'p3', patients: ['p3', 'p1'], sp: { code: [{ sc: ['loinc|1'] }, { sc: 'x' }] } },
      { _id: 'array-step', patient: 'p4', sp: [{ code: { sc: ['loinc|1'] } }] },
      { _id: 'unsafe', patient: 'p<5> & "q"', sp: { code: { sc: ['a"b\\c'] } } },
      { _id: 'unicode', patient: 'pé', sp: { code: { sc: ['größe|1'] } } },
      { _id: 'hyphen', patient: 'p6', sp: { 'clinical-status': { c: ['active'] } } },
      { _id: 'number', patient: 7, sp: { n: { v: 1 } } },
    ]);
  });
  after(async () => {
    await client?.close();
  });

  async function ids(filter: Filter<TestDoc>): Promise<string[]> {
    return (await coll.find(filter).toArray()).map((d) => String(d._id)).sort();
  }

  it('top-level equality also matches arrays that contain the value', async () => {
    expect(await ids({ patient: 'p1' })).to.deep.equal(['array-field', 'plain']);
    expect(await ids({ patient: 'p9' })).to.deep.equal(['array-field']);
    expect(await ids({ patient: 'nobody' })).to.deep.equal([]);
    expect(await coll.countDocuments({ patient: 'p1' })).to.equal(2);
  });

  it('$in, $or and nested $and give the exact MongoDB answer', async () => {
    expect(await ids({ patient: { $in: ['p2', 'p9'] } })).to.deep.equal(['array-field', 'other']);
    expect(await ids({ $or: [{ patient: 'p1' }, { patients: 'p1' }] })).to.deep.equal(['array-field', 'many', 'plain']);
    expect(await ids({ $and: [{ $and: [{ patient: 'p1' }] }, { 'sp.code.sc': 'loinc|2' }] })).to.deep.equal(['plain']);
    expect(await ids({ _id: { $in: ['plain', 'unicode', 'missing'] } })).to.deep.equal(['plain', 'unicode']);
  });

  it('dotted paths match through arrays at any step, and scalars as well as arrays', async () => {
    expect(await ids({ 'sp.code.sc': 'loinc|1' })).to.deep.equal(['array-field', 'array-step', 'many', 'plain']);
    expect(await ids({ 'sp.code.sc': { $in: ['loinc|3', 'x'] } })).to.deep.equal(['many', 'other']);
    expect(await ids({ 'sp.clinical-status.c': 'active' })).to.deep.equal(['hyphen']);
    expect(await ids({ 'sp.status.c': 'final', patient: 'p2' })).to.deep.equal(['other']);
  });

  it('values whose JSON has several spellings, unicode and non-strings are still found', async () => {
    expect(await ids({ patient: 'p<5> & "q"' })).to.deep.equal(['unsafe']);
    expect(await ids({ 'sp.code.sc': 'a"b\\c' })).to.deep.equal(['unsafe']);
    expect(await ids({ patient: 'pé' })).to.deep.equal(['unicode']);
    expect(await ids({ 'sp.code.sc': 'größe|1' })).to.deep.equal(['unicode']);
    expect(await ids({ patient: 7 })).to.deep.equal(['number']);
    expect(await ids({ patient: { $ne: 'p1' } })).to.have.length(7);
  });

  it('string ranges match what MongoDB matches, whatever the characters around their bounds', async () => {
    const keys = coll.db.collection<TestDoc>('search_keys_test');
    const values = ['ab', 'ab ', 'ab!', 'ab"', 'ab#', 'ab\\', 'ab<', 'abc', 'abc~', 'ab~', 'ab\u007f', 'abé', 'ab\u2028', 'aa', 'b', 'a'];
    await keys.insertMany(values.map((v, n) => ({ _id: `k${n}`, k: v })));
    await keys.insertMany([{ _id: 'array', k: ['zz', 'ab'] }, { _id: 'number', k: 5 }]);
    await keys.createIndex({ k: 1 });
    // In byte order: a < aa < ab < "ab " < ab! < ab" < ab# < ab< < ab\\ < abc < abc~ < ab~ < ab\u007f < abé < ab\u2028 < b.
    // The array matches when one element is above the lower bound and one below the upper.
    const k = (...n: number[]) => n.map((i) => `k${i}`);
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ $gte: 'ab', $lt: 'ab~' }, [...k(0, 1, 2, 3, 4, 5, 6, 7, 8), 'array']],
      [{ $gt: 'ab', $lte: 'abc' }, [...k(1, 2, 3, 4, 5, 6, 7), 'array']],
      [{ $gte: 'ab ', $lt: 'ab"' }, [...k(1, 2), 'array']],
      [{ $gte: 'aa', $lt: 'b' }, [...k(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), 'array']],
      [{ $gte: 'ab', $lt: 'ab' }, []],
      [{ $gte: 'abé', $lt: 'abê' }, [...k(11), 'array']],
    ];
    for (const [range, want] of cases) {
      const got = (await keys.find({ k: range }).toArray()).map((d) => d._id).sort();
      expect(got, JSON.stringify(range)).to.deep.equal(want.sort());
    }
    // On _id, as the search's lookup keys are read.
    const ids = (await keys.find({ _id: { $gte: 'k1', $lt: 'k1~' } }).toArray()).map((d) => d._id).sort();
    expect(ids).to.deep.equal(['k1', 'k10', 'k11', 'k12', 'k13', 'k14', 'k15']);
  });

  it('updates and deletes by a pushed-down filter touch exactly the matching documents', async () => {
    const res = await coll.updateMany({ patient: 'p1' }, { $set: { flagged: true } });
    expect(res.matchedCount).to.equal(2);
    expect(await ids({ flagged: true })).to.deep.equal(['array-field', 'plain']);
    const del = await coll.deleteMany({ 'sp.code.sc': 'x' });
    expect(del.deletedCount).to.equal(1);
    expect(await ids({ _id: 'many' })).to.deep.equal([]);
  });
});
