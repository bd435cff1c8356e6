// The patient portal in headless Chromium (Debian's chromium, driven by playwright-core), against
// a real server with demo patients: a patient signs in through the real sign-in and consent pages
// (the SMART standalone launch with PKCE), sees her own record on the dashboard and the results
// pages, signs out. axe runs on every screen; screenshots at phone (360 px) and desktop widths go
// to client/test/artifacts/ (not committed).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { launchChromium } from '../../server/test/support/chromium.ts';
import { freshAddress, type AccountsServer } from '../../server/test/support/accounts.ts';
import { DEMO_PATIENT_PASSWORD } from '../../server/src/auth/accounts/demo-accounts.ts';
import { startPortalServer } from './support/portal-server.ts';

const SHOTS = path.resolve(import.meta.dirname, 'artifacts');
const PHONE = { width: 360, height: 780 };
const DESKTOP = { width: 1280, height: 900 };
const NIA = { name: 'Nia Ali', patientId: '82b88b5f-dcdd-5f0e-823c-aac44efde474' };
const OLIVIA = { email: 'olivia.ali70@example.org' };
const MEI = { email: 'mei.rossi73@example.org', name: 'Mei Helen Rossi', patientId: '4d8c7d5b-b02e-583f-83e1-100caf275787' };

describe('Patient portal in a browser', function () {
  this.timeout(180_000);
  let server: AccountsServer;
  let browser: Browser;

  before(async function () {
    fs.mkdirSync(SHOTS, { recursive: true });
    [server, browser] = await Promise.all([startPortalServer(['01-mei-helen-rossi.json', '07-nia-ali.json']), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function newPage(viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, baseURL: server.baseUrl });
    await context.setExtraHTTPHeaders({ 'x-forwarded-for': freshAddress() });
    return { context, page: await context.newPage() };
  }

  /** No serious or critical axe violations; screenshots at both widths. */
  async function check(page: Page, name: string): Promise<void> {
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
    const problems = results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    expect(problems, `accessibility of ${name}`).to.deep.equal([]);
    const size = page.viewportSize();
    for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`), fullPage: true });
    }
    if (size) await page.setViewportSize(size);
  }

  /** From the portal's front door through the real sign-in and consent pages back to the dashboard. */
  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(DEMO_PATIENT_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // The consent page comes the first time; afterwards the server remembers the grant.
    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    const dashboard = page.getByRole('heading', { name: 'Dashboard' });
    await allow.or(dashboard).waitFor();
    if (await allow.isVisible()) await allow.click();
    await dashboard.waitFor();
  }

  it('a patient signs in through the clinic’s pages and sees her own record on the dashboard and the results pages', async () => {
    const { context, page } = await newPage(PHONE);
    await page.goto('/');
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    await check(page, 'signed-out');
    await signIn(page, MEI.email);
    expect(await page.getByTestId('banner-name').textContent()).to.equal(MEI.name);
    await page.getByRole('region', { name: 'Newest results' }).getByRole('link').first().waitFor();
    await page.getByRole('region', { name: 'Upcoming appointments' }).getByText(/Dr\.|visit/i).first().waitFor();
    await page.getByRole('region', { name: 'Balance due' }).getByText(/\$\d/).waitFor();
    await check(page, 'dashboard');

    // Her results, as the server releases them to her: every row is one of her Observations.
    const token = await server.toolsToken();
    const res = await fetch(`${server.fhirUrl}/Observation?patient=${MEI.patientId}&category=laboratory&code=http://loinc.org|4548-4&_sort=-date`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
    });
    const hba1c = ((await res.json()) as { entry: { resource: { id: string; valueQuantity: { value: number } } }[] }).entry.map((e) => e.resource);
    expect(hba1c.length).to.be.greaterThan(1);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Test results' }).click();
    await page.getByRole('heading', { name: 'Test results' }).waitFor();
    await page.getByRole('table').first().waitFor();
    await check(page, 'results-by-date');
    await page.getByRole('tab', { name: 'By test' }).click();
    const hba1cLink = page.getByRole('link', { name: /A1c/i }).first();
    await hba1cLink.waitFor();
    await check(page, 'results-by-test');
    await hba1cLink.click();
    await page.getByRole('table', { name: 'Every result of this test, newest first' }).waitFor();
    await page.locator('.recharts-surface').first().waitFor();
    const rows = page.getByRole('table', { name: 'Every result of this test, newest first' }).locator('tbody tr');
    expect(await rows.count()).to.be.at.least(hba1c.length);
    expect(await rows.first().textContent()).to.contain(String(hba1c[0].valueQuantity.value));
    await check(page, 'test-trend');
    // Its address works on its own too (a reload, a bookmark): the server answers the portal's page.
    await page.reload();
    await page.getByRole('table', { name: 'Every result of this test, newest first' }).waitFor();

    await rows.first().getByRole('link').click();
    await page.waitForURL(new RegExp(`/results/${hba1c[0].id}$`));
    await page.getByText('Usual range', { exact: true }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.match(/A1c/i);
    expect(await page.getByRole('main').textContent()).to.contain(`${hba1c[0].valueQuantity.value} %`);
    await check(page, 'result-detail');
    await context.close();
  });

  /** A FHIR request as the server's tools client (system scopes), to set up and check test data. */
  async function asTools(pathAndQuery: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    return fetch(`${server.fhirUrl}/${pathAndQuery}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${await server.toolsToken()}`, accept: 'application/fhir+json', 'content-type': 'application/fhir+json' },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
  }

  it('a result that is not released yet never appears in the portal', async () => {
    const unreleased = await asTools('Observation', {
      method: 'POST',
      body: {
        resourceType: 'Observation',
        status: 'preliminary',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '2276-4', display: 'Ferritin' }], text: 'Ferritin (not yet reviewed)' },
        subject: { reference: `Patient/${MEI.patientId}` },
        effectiveDateTime: new Date().toISOString(),
        valueQuantity: { value: 12, unit: 'ng/mL', system: 'http://unitsofmeasure.org', code: 'ng/mL' },
      },
    });
    expect(unreleased.status).to.equal(201);
    const { context, page } = await newPage();
    await signIn(page, MEI.email);
    await page.getByRole('region', { name: 'Newest results' }).getByRole('link').first().waitFor();
    expect(await page.getByRole('main').textContent()).not.to.contain('Ferritin');
    await page.goto('/results');
    await page.getByRole('table').first().waitFor();
    expect(await page.getByRole('main').textContent()).not.to.contain('Ferritin');
    await page.getByRole('tab', { name: 'By test' }).click();
    await page.getByRole('table').first().waitFor();
    expect(await page.getByRole('main').textContent()).not.to.contain('Ferritin');
    await context.close();
  });

  it('a proxy sees the record of the person they act for, with her name in the banner and a line saying they act for her', async () => {
    const { context, page } = await newPage(PHONE);
    await signIn(page, OLIVIA.email);
    expect(await page.getByTestId('banner-name').textContent()).to.equal(NIA.name);
    await page.getByText('You are viewing this record as a trusted family member or caregiver.').waitFor();
    await page.getByRole('region', { name: 'Newest results' }).getByRole('link').first().waitFor();
    await check(page, 'proxy-dashboard');
    await context.close();
  });

  it('a sign-in that ended on the server (tokens revoked) shows the “you were signed out” screen, not an error', async () => {
    const { context, page } = await newPage();
    await signIn(page, MEI.email);
    const tokens = await page.evaluate(() => {
      const key = JSON.parse(sessionStorage.getItem('SMART_KEY') ?? 'null') as string;
      return (JSON.parse(sessionStorage.getItem(key) ?? '{}') as { tokenResponse: { access_token: string; refresh_token: string } }).tokenResponse;
    });
    for (const [token, hint] of [[tokens.refresh_token, 'refresh_token'], [tokens.access_token, 'access_token']]) {
      const res = await fetch(`${server.baseUrl}/auth/revoke`, { method: 'POST', body: new URLSearchParams({ token, token_type_hint: hint, client_id: 'patient-portal' }) });
      expect(res.status).to.equal(200);
    }
    await page.reload();
    await page.getByRole('heading', { name: 'You were signed out' }).waitFor();
    expect(await page.getByRole('main').textContent()).not.to.contain(MEI.name);
    await check(page, 'signed-out-expired');
    await context.close();
  });

  it('signing out revokes the portal’s tokens and ends the session: signing in again asks for the password', async () => {
    const { context, page } = await newPage();
    await signIn(page, MEI.email);
    const stored = await page.evaluate(() => {
      const key = JSON.parse(sessionStorage.getItem('SMART_KEY') ?? 'null') as string | null;
      return key ? (JSON.parse(sessionStorage.getItem(key) ?? '{}') as { tokenResponse?: { access_token?: string } }) : {};
    });
    const accessToken = stored.tokenResponse?.access_token;
    expect(accessToken).to.be.a('string');
    const before = await fetch(`${server.fhirUrl}/Patient/${MEI.patientId}`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(before.status).to.equal(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    // The authorization server asks whether to end the session there too.
    await page.getByRole('heading', { name: 'Sign out' }).waitFor();
    await check(page, 'sign-out-confirm');
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await check(page, 'signed-out-after');
    const after = await fetch(`${server.fhirUrl}/Patient/${MEI.patientId}`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(after.status).to.equal(401);
    // Going back to the portal does not show the record again, and signing in needs the password.
    await page.goto('/');
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Password').waitFor();
    await context.close();
  });
});
