// Builds the patient portal (client/) with Vite when its sources changed since the last build, so
// `npm start` on a fresh clone serves a portal and later starts cost nothing. "Changed" is a hash
// of the sources and of the lock file (a dependency upgrade changes the output too), kept beside
// the build; a build that fails leaves no hash, so the next start tries again.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { PortalConfig } from '../config.ts';

const HASH_FILE = '.source-hash';
/** What goes into the build besides client/src (its configuration and the dependencies' versions). */
const INPUTS = ['index.html', 'vite.config.ts', 'tsconfig.json', 'public', 'src'];

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  if (fs.statSync(dir).isFile()) return [dir];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => filesUnder(path.join(dir, entry.name)));
}

/** A hash of everything the build reads: file names and contents, in a fixed order. */
export function portalSourceHash(portal: PortalConfig): string {
  const hash = createHash('sha256');
  const files = INPUTS.flatMap((name) => filesUnder(path.join(portal.sourceDir, name)));
  files.push(path.join(portal.sourceDir, '..', 'package-lock.json'));
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    hash.update(path.relative(portal.sourceDir, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export function portalIsCurrent(portal: PortalConfig): boolean {
  const stored = path.join(portal.distDir, HASH_FILE);
  return fs.existsSync(path.join(portal.distDir, 'index.html')) && fs.existsSync(stored) && fs.readFileSync(stored, 'utf8') === portalSourceHash(portal);
}

/**
 * Builds the portal unless the last build is of the same sources. Vite runs in a child process
 * (the server does not load the bundler), at low priority so a server already serving on the same
 * machine keeps its CPU. Resolves to whether a build ran.
 */
export async function ensurePortalBuilt(portal: PortalConfig, onBuild?: () => void): Promise<boolean> {
  if (portalIsCurrent(portal)) return false;
  onBuild?.();
  const hash = portalSourceHash(portal);
  const vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--config', path.join(portal.sourceDir, 'vite.config.ts'), '--outDir', portal.distDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: portal.sourceDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`Building the portal failed (vite exited with ${code}):\n${Buffer.concat(output).toString('utf8').slice(-4000)}`);
  fs.writeFileSync(path.join(portal.distDir, HASH_FILE), hash);
  return true;
}
