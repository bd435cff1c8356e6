// The portal's initial download: the scripts and styles index.html loads before the first screen
// (entry script, its preloaded chunks, stylesheets), gzipped at level 9 as a server would send them.
// Target (issue 14): initial JavaScript under 250 kB gzipped. Builds the portal if its sources changed.
// Run: npx tsx bench/portal-bundle.ts
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../server/src/config.ts';
import { ensurePortalBuilt } from '../server/src/portal/portal-build.ts';

const portal = loadConfig().portal;
await ensurePortalBuilt(portal);
const html = fs.readFileSync(path.join(portal.distDir, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const gz = (file: string) => gzipSync(fs.readFileSync(path.join(portal.distDir, file)), { level: 9 }).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
let js = 0;
let css = 0;
for (const file of initial) {
  const size = gz(file);
  if (file.endsWith('.js')) js += size;
  else css += size;
  console.log(`${file.padEnd(44)} ${kb(size)} gzipped`);
}
const lazy = fs.readdirSync(path.join(portal.distDir, 'assets')).filter((f) => f.endsWith('.js') && !initial.includes(`assets/${f}`));
console.log(`initial JavaScript ${kb(js)} gzipped (target < 250 kB: ${js < 250 * 1024 ? 'met' : 'NOT met'}), CSS ${kb(css)}`);
console.log(`loaded later: ${lazy.length} chunks, ${kb(lazy.reduce((sum, f) => sum + gz(`assets/${f}`), 0))} gzipped`);
