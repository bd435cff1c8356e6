// The server serves the built patient portal at `/`: the page itself is revalidated on every load
// (a new build shows at once), hashed assets are cached for a year, the portal's own paths answer
// its page, and the server's own areas (/fhir, /auth, /account, /healthz) keep their answers.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../src/config.ts';
import { ensurePortalBuilt, portalIsCurrent } from '../src/portal/portal-build.ts';
import { testServer } from './support/test-server.ts';

describe('Serving the patient portal', function () {
  this.timeout(120_000);
  let base: string;

  before(async () => {
    await ensurePortalBuilt(loadConfig().portal);
    base = (await testServer()).baseUrl;
  });

  it('answers its page at / and at the portal’s own paths, revalidated on every load', async () => {
    for (const page of ['/', '/results', '/results/test/http%3A%2F%2Floinc.org%7C4548-4', '/callback?code=x&state=y', '/signed-out']) {
      const res = await fetch(`${base}${page}`);
      expect(res.status, page).to.equal(200);
      expect(res.headers.get('content-type'), page).to.match(/^text\/html/);
      expect(res.headers.get('cache-control'), page).to.equal('no-cache');
      // Scripts only from this server; nothing that breaks plain http from another machine.
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, page).to.contain("script-src 'self'").and.not.contain('upgrade-insecure-requests');
      expect(await res.text(), page).to.contain('<div id="root"></div>');
    }
  });

  it('caches the hashed scripts and styles the page loads for a year', async () => {
    const html = await (await fetch(`${base}/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css'))).to.equal(true);
    for (const asset of assets) {
      const res = await fetch(`${base}${asset}`);
      expect(res.status, asset).to.equal(200);
      expect(res.headers.get('cache-control'), asset).to.equal('public, max-age=31536000, immutable');
    }
  });

  it('keeps the server’s own areas: an unknown path there, or a missing file, is not answered with the portal', async () => {
    const notPortal = ['/fhir/NoSuchType', '/auth/no-such-endpoint', '/account/no-such-page', '/assets/missing-abc123.js', '/favicon-missing.ico'];
    for (const url of notPortal) {
      const res = await fetch(`${base}${url}`, { headers: { accept: 'text/html' } });
      expect(res.status, url).to.be.oneOf([401, 404]);
      expect(await res.text(), url).not.to.contain('<div id="root"></div>');
    }
    expect((await fetch(`${base}/healthz`)).headers.get('content-type')).to.match(/json/);
    const signIn = await fetch(`${base}/account/sign-in`);
    expect(signIn.status).to.equal(200);
    expect(await signIn.text()).not.to.contain('<div id="root"></div>');
    const smart = await fetch(`${base}/fhir/.well-known/smart-configuration`);
    expect(((await smart.json()) as { authorization_endpoint: string }).authorization_endpoint).to.match(/\/auth\/authorize$/);
  });

  it('builds again only when the portal’s sources change', async () => {
    const portal = loadConfig().portal;
    expect(portalIsCurrent(portal)).to.equal(true);
    expect(await ensurePortalBuilt(portal)).to.equal(false);
    // A copy of the sources with one file changed is out of date against the same build.
    const copy = fs.mkdtempSync(path.join(path.dirname(portal.sourceDir), '.portal-copy-'));
    try {
      const skipped = ['dist', 'test'].map((name) => path.join(portal.sourceDir, name));
      fs.cpSync(portal.sourceDir, copy, { recursive: true, filter: (p) => !skipped.some((s) => p === s || p.startsWith(`${s}${path.sep}`)) });
      const changed = { ...portal, sourceDir: copy };
      expect(portalIsCurrent(changed)).to.equal(true);
      fs.appendFileSync(path.join(copy, 'src', 'main.tsx'), '\n// changed\n');
      expect(portalIsCurrent(changed)).to.equal(false);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
