// People with accounts, and their access tokens, obtained the way a person and a real app obtain
// them: a patient's account through the activation-code page, a proxy's through the invitation
// mail and its registration page, staff and admins through the set-password link and the
// authenticator set-up; then a SMART standalone launch through the pages (the signed-in session,
// the patient picker, the consent page), its code exchanged at the token endpoint with
// openid-client. Nothing is written into the server's stores behind its back.
import { randomUUID } from 'node:crypto';
import { createStaffAccount, inviteProxy } from '../../src/auth/accounts/enrolment.ts';
import { browserFor, linkIn, mailTo, registerApp, registerPatient, totpNow, totpSecretOn, type AccountsServer, type TestApp, type TestPatient } from './accounts.ts';
import type { PageBrowser } from './page-browser.ts';
import { launch, type PersonToken } from './smart-sign-in.ts';

export { allowAll, checkedBoxes, launch, type PersonToken } from './smart-sign-in.ts';

/**
 * A proxy account through the invitation the clinic sends for a RelatedPerson (to `email`, or to
 * the RelatedPerson's own address), signed in; with the patient it acts for.
 */
export async function proxyBrowser(server: AccountsServer, relatedPerson: string, email?: string): Promise<{ browser: PageBrowser; patient: string; email: string }> {
  const invited = await inviteProxy(server.running.accounts, relatedPerson, email);
  const browser = browserFor(server);
  const accept = await browser.visit(linkIn((await mailTo(server, invited.email)).text));
  const done = await browser.submit(accept, '/account/register/proxy', { email: invited.email, password: 'kite harbor violin maple' });
  if (done.status !== 303) throw new Error(`proxy registration failed: ${done.status} ${done.text.slice(0, 500)}`);
  return { browser, patient: invited.patient, email: invited.email };
}

/** A staff or admin account through its set-password link and authenticator set-up, signed in. */
export async function staffBrowser(server: AccountsServer, role: 'staff' | 'admin', practitioner?: string): Promise<PageBrowser> {
  const email = `${role}.${randomUUID().slice(0, 8)}@example.org`;
  await createStaffAccount(server.running.accounts, { email, role, ...(practitioner ? { practitioner: `Practitioner/${practitioner}` } : {}) });
  const b = browserFor(server);
  const setPage = await b.visit(linkIn((await mailTo(server, email)).text));
  await b.submit(setPage, '/account/reset', { password: 'clinic night shift kettle' });
  const setup = await b.follow(await b.submit(await b.visit('/account/sign-in'), '/account/sign-in', { email, password: 'clinic night shift kettle' }));
  const codes = await b.follow(await b.submit(setup, '/account/totp-setup', { code: await totpNow(totpSecretOn(setup)) }));
  await b.follow(await b.submit(codes, '/account/recovery-codes'));
  return b;
}

/**
 * The people of one server and their tokens. A person's account is made on first use and stays
 * signed in in its browser, so a further token of the same person is only another launch: no
 * second enrolment, and no second password hash (the slow part).
 *
 * As for a real person, a new consent for the same app and patient replaces the grant before it
 * and ends its tokens: a second token of the same person with other scopes needs another app.
 */
export class People {
  private readonly signedIn = new Map<string, Promise<{ browser: PageBrowser; patient?: string }>>();
  private readonly apps = new Map<string, Promise<TestApp>>();

  constructor(readonly server: AccountsServer) {}

  /** A public app registered on the server under `name` (once). */
  app(name = 'Test health app'): Promise<TestApp> {
    let app = this.apps.get(name);
    if (!app) this.apps.set(name, (app = registerApp(this.server, { name })));
    return app;
  }

  private person(key: string, enrol: () => Promise<{ browser: PageBrowser; patient?: string }>) {
    let person = this.signedIn.get(key);
    if (!person) this.signedIn.set(key, (person = enrol()));
    return person;
  }

  /** A token of the patient (their account registered with an activation code on first use). */
  async patientToken(patient: TestPatient, scopes: string[], app?: TestApp): Promise<PersonToken> {
    const { browser } = await this.person(`patient ${patient.id}`, () => registerPatient(this.server, patient));
    return launch(this.server, browser, app ?? (await this.app()), scopes);
  }

  /** A token of the proxy a RelatedPerson is, for the RelatedPerson's patient (the account through its invitation on first use). */
  async proxyToken(relatedPerson: string, scopes: string[], app?: TestApp): Promise<PersonToken> {
    const { browser, patient } = await this.person(`proxy ${relatedPerson}`, () => proxyBrowser(this.server, relatedPerson));
    return launch(this.server, browser, app ?? (await this.app()), scopes, patient);
  }

  /** A token of the staff member linked to a Practitioner (the account made on first use). */
  async staffToken(practitioner: string, scopes: string[], app?: TestApp): Promise<PersonToken> {
    const { browser } = await this.person(`staff ${practitioner}`, async () => ({ browser: await staffBrowser(this.server, 'staff', practitioner) }));
    return launch(this.server, browser, app ?? (await this.app()), scopes);
  }

  /** A token of the server's admin (one admin account, made on first use). */
  async adminToken(scopes: string[], app?: TestApp): Promise<PersonToken> {
    const { browser } = await this.person('admin', async () => ({ browser: await staffBrowser(this.server, 'admin') }));
    return launch(this.server, browser, app ?? (await this.app()), scopes);
  }
}
