// Debian's Chromium, headless, driven by playwright-core (no browser download): the browser of the
// page and portal tests. `.ci/run` installs the package when it is missing.
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}
