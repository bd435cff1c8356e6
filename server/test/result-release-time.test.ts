// When a result reaches its patient (access/result-release.ts), from RESULT_RELEASE_DELAYS: the
// time the indexer stores beside each result, which patients' queries compare with now.
import { expect } from 'chai';
import type { DiagnosticReport, Observation } from 'fhir/r4';
import { DEFAULT_RELEASE_DELAYS, parseReleaseDelays, RELEASED_EXTENSION, releaseTime } from '../src/access/result-release.ts';
import { loadConfig } from '../src/config.ts';

describe('Result release time', () => {
  const delays = parseReleaseDelays(DEFAULT_RELEASE_DELAYS);
  const issued = '2024-03-01T08:00:00Z';
  const at = (hours: number) => new Date(Date.parse(issued) + hours * 3600_000).toISOString();
  const obs = (...codes: string[]): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    issued,
    category: [{ coding: codes.map((code) => ({ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code })) }],
  });
  const report = (code: string): DiagnosticReport => ({
    resourceType: 'DiagnosticReport',
    status: 'final',
    code: { text: 'x' },
    issued,
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code }] }],
  });

  it('releases routine labs when issued, pathology and imaging 72 hours later, genetics never by itself', () => {
    expect(releaseTime(obs('laboratory'), delays)?.toISOString()).to.equal(at(0));
    expect(releaseTime(report('PAT'), delays)?.toISOString()).to.equal(at(72));
    expect(releaseTime(obs('imaging'), delays)?.toISOString()).to.equal(at(72));
    expect(releaseTime(report('GE'), delays)).to.equal(undefined);
  });

  it('takes the most cautious of a result\'s categories, and "*" for unknown ones', () => {
    expect(releaseTime(obs('laboratory', 'imaging'), delays)?.toISOString()).to.equal(at(72));
    expect(releaseTime(obs('laboratory', 'genetics'), delays)).to.equal(undefined);
    expect(releaseTime(obs('something-else'), delays)?.toISOString()).to.equal(at(0));
    expect(releaseTime(obs('something-else'), parseReleaseDelays('*=24h'))?.toISOString()).to.equal(at(24));
  });

  it('uses the release a clinician recorded, whatever the category', () => {
    const released = { ...report('GE'), extension: [{ url: RELEASED_EXTENSION, valueDateTime: '2024-03-02T10:00:00Z' }] };
    expect(releaseTime(released, delays)?.toISOString()).to.equal('2024-03-02T10:00:00.000Z');
  });

  it('reads RESULT_RELEASE_DELAYS from the configuration and refuses a malformed one', () => {
    const config = loadConfig({ RESULT_RELEASE_DELAYS: 'laboratory=12h,GE=never' });
    expect(releaseTime(obs('laboratory'), config.access.releaseDelays)?.toISOString()).to.equal(at(12));
    expect(() => loadConfig({ RESULT_RELEASE_DELAYS: 'laboratory=soon' })).to.throw(/RESULT_RELEASE_DELAYS/);
  });
});
