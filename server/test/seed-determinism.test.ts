// The generator is deterministic: same seed, same bytes; another seed, other data; and the
// committed demo set is exactly what the generator makes.
import { expect } from 'chai';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { serializeBundle } from '../../seed-data/bundle.ts';
import { DEMO_DIR, DEMO_MANIFEST, renderDemoSet } from '../../seed-data/demo-set.ts';
import { SeedGenerator } from '../../seed-data/generator.ts';
import { Random } from '../../seed-data/random.ts';
import { shiftDatesInText, weeksBetween } from '../../seed-data/rebase-dates.ts';

function render(seed: string, count: number, now?: Date): string {
  const g = new SeedGenerator({ seed, ...(now ? { now } : {}) });
  const parts = [serializeBundle(g.clinicBundle())];
  for (const { bundle } of g.patientBundles(count)) parts.push(serializeBundle(bundle));
  return parts.join('');
}

describe('seed data: determinism', () => {
  it('the PRNG repeats its sequence for a seed and differs between seeds', () => {
    const a = new Random('x');
    const b = new Random('x');
    const c = new Random('y');
    const seqA = Array.from({ length: 50 }, () => a.nextUint32());
    expect(Array.from({ length: 50 }, () => b.nextUint32())).to.deep.equal(seqA);
    expect(Array.from({ length: 50 }, () => c.nextUint32())).to.not.deep.equal(seqA);
    // Roughly uniform: the mean of many draws is near 0.5.
    const r = new Random('uniform');
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += r.next();
    expect(sum / 20000).to.be.closeTo(0.5, 0.01);
  });

  it('the same seed gives byte-identical bundles', () => {
    expect(render('determinism', 6)).to.equal(render('determinism', 6));
  });

  it('a different seed gives different patients, ids and values', () => {
    const a = new SeedGenerator({ seed: 'one' }).patientRecord(0);
    const b = new SeedGenerator({ seed: 'two' }).patientRecord(0);
    expect(a.patientId).to.not.equal(b.patientId);
    expect(serializeBundle({ resourceType: 'Bundle', type: 'collection', entry: a.resources.map((resource) => ({ resource })) })).to.not.equal(
      serializeBundle({ resourceType: 'Bundle', type: 'collection', entry: b.resources.map((resource) => ({ resource })) }),
    );
  });

  it('another reference date moves the record with it', () => {
    expect(render('dates', 2, new Date('2030-01-07T17:00:00Z'))).to.not.equal(render('dates', 2));
  });

  it('patient N is the same whether generated alone or as part of a larger run', () => {
    const g = new SeedGenerator({ seed: 'independent' });
    const inRun = [...g.patientBundles(5)][3]!.bundle;
    const alone = new SeedGenerator({ seed: 'independent' }).patientBundle(3);
    expect(serializeBundle(alone)).to.equal(serializeBundle(inRun));
  });

  it('a Patient generated alone is the Patient of its whole record', () => {
    const g = new SeedGenerator({ seed: 'patient-alone' });
    for (const index of [0, 7, 31]) {
      const record = g.patientRecord(index);
      expect(g.patient(index)).to.deep.equal(record.resources.find((r) => r.resourceType === 'Patient'));
    }
  });

  it('ids are unique, and every reference points into the bundle or at the clinic bundle', () => {
    const g = new SeedGenerator({ seed: 'references' });
    const clinicIds = new Set(g.clinicBundle().entry.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`));
    const seen = new Set<string>(clinicIds);
    for (const { bundle } of g.patientBundles(10)) {
      const fullUrls = new Set(bundle.entry.map((e) => e.fullUrl));
      for (const e of bundle.entry) {
        const key = `${e.resource!.resourceType}/${e.resource!.id}`;
        expect(seen.has(key), `duplicate ${key}`).to.equal(false);
        seen.add(key);
        expect(e.request).to.deep.equal({ method: 'PUT', url: key });
        expect(e.fullUrl).to.equal(`urn:uuid:${e.resource!.id}`);
      }
      const refs = JSON.stringify(bundle).match(/"reference":"[^"]+"/g) ?? [];
      for (const r of refs) {
        const target = r.slice('"reference":"'.length, -1);
        if (target.startsWith('urn:uuid:')) expect(fullUrls.has(target), `dangling ${target}`).to.equal(true);
        else expect(clinicIds.has(target), `unknown ${target}`).to.equal(true);
      }
    }
  });

  it('the committed demo set is exactly what the generator makes (npm run seed -- --write-demo)', async () => {
    const { bundles, manifest } = renderDemoSet();
    const committed = (await readdir(DEMO_DIR)).filter((f) => f.endsWith('.json')).sort();
    expect(committed).to.deep.equal([...bundles.keys()].sort());
    for (const [file, content] of bundles) {
      expect(await readFile(path.join(DEMO_DIR, file), 'utf8'), file).to.equal(content);
    }
    expect(await readFile(DEMO_MANIFEST, 'utf8')).to.equal(manifest);
  });

  it('the demo set has about 20 patients and stays under 5 MB', async () => {
    const files = (await readdir(DEMO_DIR)).filter((f) => f.endsWith('.json'));
    expect(files.length).to.be.within(18, 25);
    let bytes = 0;
    for (const f of files) bytes += (await stat(path.join(DEMO_DIR, f))).size;
    expect(bytes).to.be.lessThan(5 * 1024 * 1024);
    for (const f of files) {
      const bundle = JSON.parse(await readFile(path.join(DEMO_DIR, f), 'utf8')) as Bundle;
      expect(bundle.type).to.equal('transaction');
    }
  });

  it('rebasing the demo set moves every date by whole weeks and nothing else', () => {
    const text = [...renderDemoSet().bundles].find(([file]) => file.startsWith('01-'))![1];
    const weeks = weeksBetween(new Date('2026-11-16T17:00:00Z'), new Date('2027-06-03T08:00:00Z'));
    expect(weeks).to.equal(28);
    const shifted = shiftDatesInText(text, weeks * 7);
    const dates = (s: string) => s.match(/\d{4}-\d{2}-\d{2}/g) ?? [];
    const before = dates(text);
    const after = dates(shifted);
    expect(after.length).to.equal(before.length);
    before.forEach((d, i) => expect((Date.parse(after[i]!) - Date.parse(d)) / 86400000).to.equal(196));
    // Everything that is not a date (ids, MRNs, amounts, phone numbers) is untouched.
    const strip = (s: string) => s.replace(/\d{4}-\d{2}-\d{2}/g, 'DATE');
    expect(strip(shifted)).to.equal(strip(text));
    const bundle = JSON.parse(shifted) as Bundle;
    for (const e of bundle.entry!) {
      const r = e.resource as { resourceType: string; status?: string; start?: string };
      if (r.resourceType === 'Appointment' && r.start) expect(new Date(r.start).getUTCDay()).to.be.within(1, 5);
    }
  });
});
