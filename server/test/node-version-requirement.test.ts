// The Node.js version the project asks for (package.json "engines", README) is one that every
// installed dependency accepts: `npm ci` on the oldest Node we claim must not warn that a package
// wants a newer one, and the README must say what package.json says.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(repoRoot, file), 'utf8')) as unknown;

const declared = (readJson('package.json') as { engines: { node: string } }).engines.node;
const oldest = semver.minVersion(declared);

describe('the Node.js version the project requires', () => {
  it('is accepted by every package in package-lock.json that names the Node versions it supports', () => {
    expect(oldest, `package.json engines.node "${declared}"`).to.not.equal(null);
    const lock = readJson('package-lock.json') as { packages: Record<string, { version?: string; engines?: unknown }> };
    const refusing = Object.entries(lock.packages).flatMap(([where, pkg]) => {
      const range = (pkg.engines as { node?: unknown } | undefined)?.node;
      if (where === '' || typeof range !== 'string' || semver.satisfies(oldest!, range)) return [];
      return [`${where.replace(/^node_modules\//, '')}@${pkg.version} wants node ${range}`];
    });
    expect(refusing, `Node ${oldest} is declared in package.json`).to.deep.equal([]);
  });

  it('is the one the README states', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).to.include(`Node.js ${oldest!.major}.${oldest!.minor} or newer`);
  });

  it('is met by the Node running these tests', () => {
    expect(semver.satisfies(process.version, declared), `${process.version} against "${declared}"`).to.equal(true);
  });
});
