// The sign-in pages in headless Chromium (Debian's chromium, driven by playwright-core): register
// with an activation code, sign in, wrong passwords until the lock, reset through the outbox,
// TOTP set-up and sign-in, a recovery code, a passkey (Chromium's virtual authenticator), an app's
// consent page whose answer redirects to the app (the CSP must let it), and axe on every page.
// Screenshots at phone and desktop widths go to $SCREENSHOT_DIR (default: the OS temp folder).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { launchChromium } from './support/chromium.ts';
import { authorizationUrl, createPatient, freshAddress, issueCode, linkIn, mailTo, registerApp, startAccountsServer, totpNow, type AccountsServer } from './support/accounts.ts';

const SHOTS = process.env.SCREENSHOT_DIR ?? path.join(os.tmpdir(), 'account-pages-screenshots');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

describe('Sign-in pages in a browser', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  let browser: Browser;

  before(async function () {
    fs.mkdirSync(SHOTS, { recursive: true });
    [server, browser] = await Promise.all([startAccountsServer(), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A context of its own (cookies), acting from a client address of its own. */
  async function newPage(viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, baseURL: server.baseUrl });
    await context.setExtraHTTPHeaders({ 'x-forwarded-for': freshAddress() });
    const page = await context.newPage();
    return { context, page };
  }

  /** axe finds no violations; screenshots at both widths. */
  async function check(page: Page, name: string): Promise<void> {
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    const problems = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    expect(problems, `accessibility of ${name}`).to.deep.equal([]);
    const size = page.viewportSize();
    for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`), fullPage: true });
    }
    if (size) await page.setViewportSize(size);
  }

  async function signIn(page: Page, email: string, password: string): Promise<void> {
    await page.goto('/account/sign-in');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/account\/sign-in/);
  }

  async function registered(page: Page, password = 'orchard silver tram bell'): Promise<{ email: string; password: string; name: string; id: string }> {
    const patient = await createPatient(server, { given: 'Inés', family: `Navarro${randomUUID().slice(0, 4)}`, birthDate: '1979-04-03' });
    const { code } = await issueCode(server, patient.mrn);
    await page.goto('/account/register');
    await page.getByLabel('Medical record number (MRN)').fill(patient.mrn);
    await page.getByLabel('Date of birth').fill(patient.birthDate);
    await page.getByLabel('Activation code').fill(code);
    await page.getByLabel('Email address').fill(patient.email);
    await page.getByLabel('Choose a password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/account$/);
    return { email: patient.email, password, name: patient.name, id: patient.id };
  }

  it('a patient registers with an activation code and signs in; the pages pass axe at phone and desktop widths', async () => {
    const { context, page } = await newPage(PHONE);
    await page.goto('/account/register');
    await check(page, 'register');
    const person = await registered(page);
    await check(page, 'account');
    await signOut(page);
    await check(page, 'sign-in');
    await signIn(page, person.email, person.password);
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor();
    await page.goto('/account/forgot-username');
    await check(page, 'forgot-username');
    await context.close();
  });

  it('wrong passwords until the lock, then a reset through the outbox signs the person in again', async () => {
    const { context, page } = await newPage();
    const person = await registered(page);
    await signOut(page);
    let message = '';
    for (let i = 0; i < 12 && !/paused until/.test(message); i++) {
      await signIn(page, person.email, 'definitely the wrong one');
      message = (await page.getByRole('alert').textContent()) ?? '';
      const wait = /Wait (\d+) second/.exec(message);
      if (wait) await page.waitForTimeout(Number(wait[1]) * 1000 + 100);
    }
    expect(message).to.match(/paused until .* reset your password/);
    await check(page, 'sign-in-locked');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email address').fill(person.email);
    await page.getByRole('button', { name: 'Send link' }).click();
    await page.getByText('If an account has this email address').waitFor();
    await check(page, 'forgot-password');
    await page.goto(linkIn((await mailTo(server, person.email)).text));
    await check(page, 'reset');
    await page.getByLabel('New password').fill('lighthouse pepper violin dune');
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('Your password was changed').waitFor();
    await signIn(page, person.email, 'lighthouse pepper violin dune');
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor();
    await context.close();
  });

  it('TOTP set-up, sign-in with a code, and a recovery code when the phone is lost', async () => {
    const { context, page } = await newPage();
    const person = await registered(page);
    await page.goto('/account/security');
    await check(page, 'security');
    await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
    await check(page, 'totp-setup');
    const key = ((await page.locator('.secret').textContent()) ?? '').replace(/\s/g, '');
    await page.getByLabel('Code from your app').fill(await totpNow(key));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await check(page, 'recovery-codes');
    const codes = await page.locator('.codes li').allTextContents();
    expect(codes).to.have.length(10);
    await page.getByRole('button', { name: 'I have saved my codes' }).click();
    await page.getByText('Your authenticator app is on.').waitFor();
    await signOut(page);
    await signIn(page, person.email, person.password);
    await page.getByRole('heading', { name: 'Enter your code', exact: true }).waitFor();
    await check(page, 'second-factor');
    // The code just used at set-up cannot be used again: wait for the next one.
    const first = await totpNow(key);
    let code = first;
    while (code === first) {
      await page.waitForTimeout(1000);
      code = await totpNow(key);
    }
    await page.getByLabel('Code from your app').fill(code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor();
    await signOut(page);
    await signIn(page, person.email, person.password);
    await page.getByText('Lost your phone? Use a recovery code').click();
    await page.getByLabel('Recovery code').fill(codes[3]);
    await page.getByRole('button', { name: 'Use recovery code' }).click();
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor();
    await context.close();
  });

  it('a passkey added on the security page signs the person in without a password', async () => {
    const { context, page } = await newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    const person = await registered(page);
    await page.goto('/account/security');
    await page.getByLabel('Name for the new passkey').fill('Test phone');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('Your passkey was added').waitFor();
    expect(await page.getByRole('heading', { name: 'Test phone' }).count()).to.equal(1);
    await signOut(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor();
    expect(await page.locator('.who').textContent()).to.equal(person.email);
    await context.close();
  });

  it('an app’s consent page grants less than asked and its answer reaches the app (CSP form-action)', async () => {
    const { context, page } = await newPage(PHONE);
    const person = await registered(page);
    const app = await registerApp(server, { name: 'Health diary' });
    let arrived: URL | undefined;
    await page.route(`${app.redirectUri}**`, async (route) => {
      arrived = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>app</title><p>back in the app</p>' });
    });
    const auth = await authorizationUrl(server, app, 'openid fhirUser launch/patient patient/Observation.rs patient/Condition.rs');
    await page.goto(auth.url);
    await page.getByRole('heading', { name: /Allow Health diary/ }).waitFor();
    await check(page, 'consent');
    await page.getByLabel('vital signs (blood pressure, weight, pulse…)').uncheck();
    await page.getByLabel(/health problems and diagnoses/).uncheck();
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.getByText('back in the app').waitFor();
    expect(arrived?.searchParams.get('code')).to.be.a('string');
    await page.goto('/account/apps');
    await page.getByText('Health diary').first().waitFor();
    await check(page, 'apps');
    expect(await page.locator('body').textContent()).to.include(person.name);
    await context.close();
  });
});
