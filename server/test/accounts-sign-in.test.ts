// Accounts and sign-in over HTTP: a person signs in through the real pages (forms posted as a
// browser would) and a SMART app (openid-client, PKCE) gets its tokens; the account rules:
// throttling and locks, passwords, registration, recovery, second factors, sessions, CSRF.
import { expect } from 'chai';
import { DEMO_TOTP_SECRET } from '../src/auth/accounts/demo-accounts.ts';
import { createStaffAccount } from '../src/auth/accounts/enrolment.ts';
import {
  authorizationUrl,
  browserFor,
  createPatient,
  createRelatedPerson,
  exchange,
  issueCode,
  freshAddress,
  linkIn,
  mailTo,
  registerApp,
  registerPatient,
  startAccountsServer,
  totpNow,
  totpSecretOn,
  type AccountsServer,
} from './support/accounts.ts';
import { alertOf, formsOf, PageBrowser, titleOf } from './support/page-browser.ts';

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';

describe('Accounts and sign-in (HTTP)', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  before(async () => {
    server = await startAccountsServer();
  });
  after(async () => {
    await server?.close();
  });

  it('a patient signs in on the pages and a SMART app gets a token for her record (standalone launch with PKCE)', async () => {
    const patient = await createPatient(server);
    const { email, password } = await registerPatient(server, patient);
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'openid fhirUser launch/patient patient/Observation.rs patient/Patient.rs');
    const browser = browserFor(server); // a new browser: not signed in
    const signIn = await browser.visit(auth.url);
    expect(titleOf(signIn)).to.equal('Sign in');
    expect(signIn.text).to.include('autocomplete="username webauthn"').and.include('autocomplete="current-password"');
    const consent = await browser.follow(await browser.submit(signIn, /\/sign-in$/, { email, password }));
    expect(titleOf(consent)).to.match(/^Allow Test health app to use your health record\?/);
    expect(consent.text).to.include('See your lab results, vital signs and other measurements');
    const redirect = await browser.follow(await browser.submit(consent, /\/consent$/, { decision: 'allow', scope: ['patient/Observation.rs', 'patient/Patient.rs'], 'category-3': ['0', '1', '2', '3', '4', '5', '6', '7', '8'] }));
    const tokens = await exchange(app, auth, redirect);
    expect(tokens.patient).to.equal(patient.id);
    expect(tokens.need_patient_banner).to.equal(false);
    expect(tokens.scope).to.include('patient/Observation.rs').and.include('patient/Patient.rs');
    const claims = tokens.claims();
    expect(claims?.fhirUser).to.equal(`${server.fhirUrl}/Patient/${patient.id}`);
    const read = await fetch(`${server.fhirUrl}/Patient/${patient.id}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(read.status).to.equal(200);
  });

  it('on the consent page a person can narrow lab access to categories, and the token carries granular v2 scopes', async () => {
    const patient = await createPatient(server);
    const { browser } = await registerPatient(server, patient);
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'launch/patient patient/Observation.rs patient/Condition.rs patient/Immunization.rs');
    const consent = await browser.visit(auth.url);
    expect(titleOf(consent)).to.match(/^Allow/);
    // Keep lab results only (category 0), leave out conditions entirely.
    const redirect = await browser.follow(await browser.submit(consent, /\/consent$/, { decision: 'allow', scope: ['patient/Observation.rs', 'patient/Immunization.rs'], 'category-1': ['0'] }));
    const tokens = await exchange(app, auth, redirect);
    const scopes = String(tokens.scope).split(' ');
    expect(scopes).to.include(`patient/Observation.rs?category=${LAB}`);
    expect(scopes).to.include('patient/Immunization.rs');
    expect(scopes).not.to.include('patient/Observation.rs');
    expect(scopes.some((s) => s.startsWith('patient/Condition'))).to.equal(false);
  });

  it('an app allowed before is answered without the consent page; after revoking it in /account/apps, consent is asked again', async () => {
    const patient = await createPatient(server);
    const { browser } = await registerPatient(server, patient);
    const app = await registerApp(server, { name: 'Remembered app' });
    const scope = 'launch/patient patient/Observation.rs';
    const first = await authorizationUrl(server, app, scope);
    const consent = await browser.visit(first.url);
    await exchange(app, first, await browser.follow(await browser.submit(consent, /\/consent$/, { decision: 'allow', scope: 'patient/Observation.rs', 'category-1': ['0'] })));
    const second = await authorizationUrl(server, app, scope);
    const tokens = await exchange(app, second, await browser.visit(second.url));
    expect(tokens.scope).to.include(`patient/Observation.rs?category=${LAB}`); // the same narrowed decision
    const apps = await browser.visit('/account/apps');
    expect(apps.text).to.include('Remembered app');
    const revokeForm = formsOf(apps.text).find((f) => f.action === '/account/apps/revoke')!;
    const revoked = await browser.request('/account/apps/revoke', { form: revokeForm.hidden });
    expect(revoked.status).to.equal(303);
    const read = await fetch(`${server.fhirUrl}/Patient/${patient.id}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(read.status).to.equal(401);
    const third = await authorizationUrl(server, app, scope);
    expect(titleOf(await browser.visit(third.url))).to.match(/^Allow Remembered app/);
  });

  it('after five wrong passwords the account is locked for a while, with the same answers for an email that has no account; an admin can unlock it', async () => {
    const patient = await createPatient(server);
    const { email, password } = await registerPatient(server, patient);
    const attempt = async (who: string, pw: string) => {
      const b = browserFor(server);
      const page = await b.visit('/account/sign-in');
      return b.submit(page, '/account/sign-in', { email: who, password: pw });
    };
    /** Five wrong passwords, waiting whenever asked to: the answers, and how often a wait was asked. */
    const answers = async (who: string) => {
      const out: Array<{ status: number; alert?: string }> = [];
      let waits = 0;
      while (out.length < 5) {
        const res = await attempt(who, 'not the right password at all');
        if (res.status === 429 && /^Too many failed attempts\. Wait/.test(alertOf(res) ?? '')) {
          waits++;
          await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000 + 50));
          continue;
        }
        out.push({ status: res.status, alert: alertOf(res)?.replace(/until .*? To sign in/, 'until T. To sign in') });
      }
      return { out, waits };
    };
    const real = await answers(email);
    const nobody = await answers(`nobody.${Date.now()}@example.org`);
    expect(real.out.map((a) => a.status)).to.deep.equal([401, 401, 401, 401, 429]);
    expect(real.waits).to.be.greaterThan(0); // growing delays before the lock
    expect(real).to.deep.equal(nobody);
    expect(real.out[4].alert).to.match(/paused until/);
    // Locked: even the right password does not sign in.
    const locked = await attempt(email, password);
    expect(locked.status).to.equal(429);
    const { unlockUser } = await import('../src/admin/account-operations.ts');
    const { adminContext } = await import('../src/admin/admin-operations.ts');
    await unlockUser(adminContext(server.running.services.config, server.running.database.db, undefined, server.running.accounts), { email });
    const after = await attempt(email, password);
    expect(after.status).to.equal(303);
    const events = await server.running.database.db.collection('security_events').find({ accountId: (await server.running.accounts.accounts.byEmail(email))!._id }).toArray();
    const types = events.map((e) => e.type as string);
    expect(types).to.include.members(['registered', 'sign-in-failed', 'locked', 'unlocked', 'sign-in']);
    expect(JSON.stringify(events)).not.to.include('not the right password');
  });

  it('many failures from one address slow that address down, whatever the email', async () => {
    const b = new PageBrowser(server.baseUrl, { 'x-forwarded-for': freshAddress() });
    const page = await b.visit('/account/sign-in');
    let status = 0;
    for (let i = 0; i < 21 && status !== 429; i++) {
      const res = await b.submit(page, '/account/sign-in', { email: `someone${i}.${Date.now()}@example.org`, password: 'wrong password here' });
      status = res.status;
    }
    expect(status).to.equal(429);
  });

  it('passwords follow NIST 800-63B: short, common and name-based ones are refused with advice; a long passphrase is accepted', async () => {
    const patient = await createPatient(server, { given: 'Marisol', family: 'Quintana' });
    const { code } = await issueCode(server, patient.mrn);
    const b = browserFor(server);
    const form = await b.visit('/account/register');
    const tryPassword = (password: string) => b.submit(form, '/account/register', { mrn: patient.mrn, birthDate: patient.birthDate, code, email: patient.email, password });
    const short = await tryPassword('abc123');
    expect(short.status).to.equal(400);
    expect(short.text).to.include('Use at least 8 characters');
    const common = await tryPassword('password123');
    expect(common.text).to.include('too easy to guess');
    const named = await tryPassword('Quintana1984');
    expect(named.text).to.include('Do not build your password from your name');
    const long = await tryPassword('a very long passphrase that is mine and has no rules, at all; 🙂 included');
    expect(long.status).to.equal(303);
  });

  it('an activation code works once, and wrong details get one answer that says what to check', async () => {
    const patient = await createPatient(server);
    const { code } = await issueCode(server, patient.mrn);
    const b = browserFor(server);
    const form = await b.visit('/account/register');
    const wrongBirthday = await b.submit(form, '/account/register', { mrn: patient.mrn, birthDate: '1990-01-01', code, email: patient.email, password: 'sunny otter canoe lantern' });
    const wrongCode = await b.submit(form, '/account/register', { mrn: patient.mrn, birthDate: patient.birthDate, code: 'AAAAA-BBBBB-CCCCC', email: patient.email, password: 'sunny otter canoe lantern' });
    expect(wrongBirthday.status).to.equal(400);
    expect(alertOf(wrongBirthday)).to.equal(alertOf(wrongCode));
    expect(alertOf(wrongCode)).to.include('Check the MRN');
    const ok = await b.submit(form, '/account/register', { mrn: patient.mrn, birthDate: patient.birthDate, code: code.toLowerCase().replace(/-/g, ' '), email: patient.email, password: 'sunny otter canoe lantern' });
    expect(ok.status).to.equal(303);
    const c = browserFor(server);
    const again = await c.submit(await c.visit('/account/register'), '/account/register', { mrn: patient.mrn, birthDate: patient.birthDate, code, email: `x${patient.email}`, password: 'sunny otter canoe lantern' });
    expect(again.status).to.equal(400);
  });

  it('a password reset link from the outbox works once, ends every other session and app token, and changes the password', async () => {
    const patient = await createPatient(server);
    const { browser: other, email, password } = await registerPatient(server, patient);
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
    const consent = await other.visit(auth.url);
    const tokens = await exchange(app, auth, await other.follow(await other.submit(consent, /\/consent$/, { decision: 'allow', scope: 'patient/Patient.rs' })));
    const b = browserFor(server);
    const forgot = await b.visit('/account/forgot-password');
    const sent = await b.submit(forgot, '/account/forgot-password', { email });
    expect(sent.text).to.include('If an account has this email address');
    const mail = await mailTo(server, email);
    expect(mail.text).to.include('30 minutes');
    const link = linkIn(mail.text);
    const resetPage = await b.visit(link);
    expect(resetPage.text).to.include('autocomplete="new-password"');
    const done = await b.submit(resetPage, '/account/reset', { password: 'brand new walrus meadow' });
    expect(done.status).to.equal(303);
    expect((await b.visit(link)).status).to.equal(410); // single use
    expect((await other.visit('/account')).url).to.include('/account/sign-in'); // the other session ended
    const read = await fetch(`${server.fhirUrl}/Patient/${patient.id}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(read.status).to.equal(401);
    const signIn = await b.visit('/account/sign-in');
    expect((await b.submit(signIn, '/account/sign-in', { email, password })).status).to.equal(401);
    expect((await b.submit(signIn, '/account/sign-in', { email, password: 'brand new walrus meadow' })).status).to.equal(303);
  });

  it('a reset link older than 30 minutes does not work', async () => {
    const patient = await createPatient(server);
    const { email } = await registerPatient(server, patient);
    const b = browserFor(server);
    await b.submit(await b.visit('/account/forgot-password'), '/account/forgot-password', { email });
    const link = linkIn((await mailTo(server, email)).text);
    // 31 minutes pass (the stored expiry is moved back, as the clock would).
    await server.running.database.db.collection('auth_one_time_secrets').updateMany({ kind: 'password-reset', 'data.email': email }, [{ $set: { expiresAt: new Date(Date.now() - 60_000) } }] as never).catch(async () => {
      await server.running.database.db.collection('auth_one_time_secrets').updateMany({ kind: 'password-reset', 'data.email': email }, { $set: { expiresAt: new Date(Date.now() - 60_000) } });
    });
    expect((await b.visit(link)).status).to.equal(410);
  });

  it('forgot username: MRN, date of birth and an email on the record get the username by mail', async () => {
    const patient = await createPatient(server);
    const registeredWith = `other.${patient.email}`;
    const { code } = await issueCode(server, patient.mrn);
    const r = browserFor(server);
    await r.submit(await r.visit('/account/register'), '/account/register', { mrn: patient.mrn, birthDate: patient.birthDate, code, email: registeredWith, password: 'sunny otter canoe lantern' });
    const b = browserFor(server);
    const page = await b.submit(await b.visit('/account/forgot-username'), '/account/forgot-username', { mrn: patient.mrn, birthDate: patient.birthDate, email: patient.email });
    expect(page.text).to.include('If these details match an account');
    const mail = await mailTo(server, patient.email);
    expect(mail.text).to.include(registeredWith);
  });

  it('staff sign in with a second factor: a new staff member sets a password from the mail, must set up TOTP, then needs a code; a recovery code works once', async () => {
    const email = `nurse.${Date.now()}@clinic.example.org`;
    const practitioner = await fetch(`${server.fhirUrl}/Practitioner`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.toolsToken()}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Practitioner', name: [{ text: 'Noor Haddad, RN', given: ['Noor'], family: 'Haddad' }] }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    await createStaffAccount(server.running.accounts, { email, role: 'staff', practitioner: `Practitioner/${practitioner.id}` });
    const b = browserFor(server);
    const setPage = await b.visit(linkIn((await mailTo(server, email)).text));
    expect(titleOf(setPage)).to.equal('Choose your password');
    await b.submit(setPage, '/account/reset', { password: 'clinic night shift kettle' });
    const signIn = await b.visit('/account/sign-in');
    const setup = await b.follow(await b.submit(signIn, '/account/sign-in', { email, password: 'clinic night shift kettle' }));
    expect(titleOf(setup)).to.equal('Set up your authenticator app');
    expect(setup.text).to.include('<svg');
    const secret = totpSecretOn(setup);
    const codes = await b.follow(await b.submit(setup, '/account/totp-setup', { code: await totpNow(secret) }));
    expect(titleOf(codes)).to.equal('Save your recovery codes');
    const recoveryCodes = [...codes.text.matchAll(/<li>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})<\/li>/g)].map((m) => m[1]);
    expect(recoveryCodes).to.have.length(10);
    const home = await b.follow(await b.submit(codes, '/account/recovery-codes'));
    expect(titleOf(home)).to.equal('Your account');
    // Another browser: the password alone is not enough.
    const c = browserFor(server);
    const second = await c.follow(await c.submit(await c.visit('/account/sign-in'), '/account/sign-in', { email, password: 'clinic night shift kettle' }));
    expect(titleOf(second)).to.equal('Enter your code');
    expect(second.text).to.include('autocomplete="one-time-code"');
    expect((await c.visit('/account')).url).to.include('/account/sign-in'); // not signed in yet
    const wrong = await c.submit(second, '/account/second-factor', { code: '000000' });
    expect(wrong.status).to.equal(401);
    const viaRecovery = await c.follow(await c.submit(second, '/account/second-factor', { recovery: recoveryCodes[0].toUpperCase() }));
    expect(titleOf(viaRecovery)).to.equal('Your account');
    const d = browserFor(server);
    const second2 = await d.follow(await d.submit(await d.visit('/account/sign-in'), '/account/sign-in', { email, password: 'clinic night shift kettle' }));
    const reused = await d.submit(second2, '/account/second-factor', { recovery: recoveryCodes[0] });
    expect(reused.status).to.equal(401);
    expect(alertOf(reused)).to.include('recovery code is not right or has been used');
  });

  it('a proxy who acts for two patients picks whose record in the app, and the token says whose and asks for a banner', async () => {
    const child1 = await createPatient(server, { given: 'Ada', birthDate: '2015-02-01' });
    const child2 = await createPatient(server, { given: 'Ben', birthDate: '2018-09-09' });
    const parentEmail = `parent.${Date.now()}@example.org`;
    const rp1 = await createRelatedPerson(server, child1.id, { given: 'Pat', family: 'Parent', email: parentEmail });
    const rp2 = await createRelatedPerson(server, child2.id, { given: 'Pat', family: 'Parent', email: parentEmail });
    const { inviteProxy, acceptProxyInvitation } = await import('../src/auth/accounts/enrolment.ts');
    await inviteProxy(server.running.accounts, rp1, undefined);
    const b = browserFor(server);
    const accept = await b.visit(linkIn((await mailTo(server, parentEmail)).text));
    expect(titleOf(accept)).to.include('Ada');
    expect((await b.submit(accept, '/account/register/proxy', { email: parentEmail, password: 'kite harbor violin maple' })).status).to.equal(303);
    await inviteProxy(server.running.accounts, rp2, undefined);
    const second = await b.visit(linkIn((await mailTo(server, parentEmail, Date.now() - 2000)).text));
    expect((await b.submit(second, '/account/register/proxy')).status).to.equal(303); // signed in: accepted into the same account
    void acceptProxyInvitation;
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'openid fhirUser launch/patient patient/Patient.rs');
    const picker = await b.visit(auth.url);
    expect(titleOf(picker)).to.equal('Whose record?');
    expect(picker.text).to.include(child1.name).and.include(child2.name);
    const chosen = await b.get(`${new URL(picker.url).pathname}?patient=${child2.id}`);
    expect(titleOf(chosen)).to.include(`${child2.name}’s health record`);
    const tokens = await exchange(app, auth, await b.follow(await b.submit(chosen, /\/consent$/, { decision: 'allow', scope: 'patient/Patient.rs' })));
    expect(tokens.patient).to.equal(child2.id);
    expect(tokens.need_patient_banner).to.equal(true);
    expect(tokens.claims()?.fhirUser).to.equal(`${server.fhirUrl}/RelatedPerson/${rp2}`);
  });

  it('forms without the CSRF token are refused, and the session cookie is HttpOnly, SameSite=Lax and Secure behind TLS', async () => {
    const patient = await createPatient(server);
    const { email, password } = await registerPatient(server, patient);
    const b = browserFor(server);
    const page = await b.visit('/account/sign-in');
    const forged = await b.request('/account/sign-in', { form: { email, password } });
    expect(forged.status).to.equal(403);
    const tls = new PageBrowser(server.baseUrl, { 'x-forwarded-for': '203.0.113.77', 'x-forwarded-proto': 'https' });
    const tlsPage = await tls.visit('/account/sign-in');
    const signedIn = await tls.submit(tlsPage, '/account/sign-in', { email, password });
    const cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('hr_session='))!;
    expect(cookie).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i).and.match(/Secure/i);
    const plain = await b.submit(page, '/account/sign-in', { email, password });
    expect(plain.headers.getSetCookie().find((c) => c.startsWith('hr_session='))).not.to.match(/Secure/i);
  });

});

// A server of its own for these: in one run after the tests above, an oidc-provider client lookup
// (Client.find → auth_clients findOne) on the local database was seen to wait forever (reported,
// not yet understood; each test passes alone and in smaller groups).
describe('Accounts and sign-in (HTTP): sessions, EHR launch, admin API', function () {
  this.timeout(120_000);
  let server: AccountsServer;
  before(async () => {
    server = await startAccountsServer();
  });
  after(async () => {
    await server?.close();
  });

  it('signing out ends the page session and the authorization server session: an app must sign the person in again', async () => {
    const patient = await createPatient(server);
    const { browser, email, password } = await registerPatient(server, patient);
    const app = await registerApp(server);
    const first = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
    await exchange(app, first, await browser.follow(await browser.submit(await browser.visit(first.url), /\/consent$/, { decision: 'allow', scope: 'patient/Patient.rs' })));
    const account = await browser.visit('/account');
    expect((await browser.submit(account, '/account/sign-out')).status).to.equal(303);
    const again = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
    const page = await browser.visit(again.url);
    expect(titleOf(page)).to.equal('Sign in');
    const tokens = await exchange(app, again, await browser.follow(await browser.submit(page, /\/sign-in$/, { email, password })));
    expect(tokens.patient).to.equal(patient.id);
  });

  it('an app’s token without offline access ends when the person signs out: every request sent after the sign-out is refused, while many requests carry it', async () => {
    const patient = await createPatient(server);
    const { browser } = await registerPatient(server, patient);
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
    const tokens = await exchange(app, auth, await browser.follow(await browser.submit(await browser.visit(auth.url), /\/consent$/, { decision: 'allow', scope: 'patient/Patient.rs' })));
    // Eight clients read without pause (the lookups of the token's sign-in session are coalesced);
    // the sign-out lands in the middle. Each read notes when it was sent.
    let signedOutAt = Infinity;
    let stop = false;
    const answers: Array<{ sentAt: number; status: number }> = [];
    const client = async () => {
      while (!stop) {
        const sentAt = performance.now();
        const res = await fetch(`${server.fhirUrl}/Patient/${patient.id}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        await res.arrayBuffer();
        answers.push({ sentAt, status: res.status });
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((r) => setTimeout(r, 300));
    expect((await browser.submit(await browser.visit('/account'), '/account/sign-out')).status).to.equal(303);
    signedOutAt = performance.now();
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    const before = answers.filter((a) => a.sentAt < signedOutAt);
    const after = answers.filter((a) => a.sentAt > signedOutAt);
    expect(before.filter((a) => a.status === 200), 'reads before the sign-out').to.have.length.greaterThan(5);
    expect(after, 'reads after the sign-out').to.have.length.greaterThan(5);
    expect(after.filter((a) => a.status !== 401), 'reads sent after the sign-out that were not refused').to.deep.equal([]);
  });

  it('a session ends after the idle timeout', async () => {
    const patient = await createPatient(server);
    const { browser } = await registerPatient(server, patient);
    expect(titleOf(await browser.visit('/account'))).to.equal('Your account');
    const idle = server.running.services.config.auth.sessionIdleMinutes;
    // The person was last seen longer ago than the idle timeout (stored time moved back).
    await server.running.database.db.collection('account_sessions').updateMany({}, { $set: { lastSeenAt: new Date(Date.now() - (idle + 1) * 60_000) } });
    expect((await browser.visit('/account')).url).to.include('/account/sign-in');
  });

  it('staff opening an app from an EHR launch get the launch’s patient; the demo clinician signs in with the demo authenticator key', async () => {
    const patient = await createPatient(server);
    const email = `doctor.${Date.now()}@clinic.example.org`;
    const practitioner = await fetch(`${server.fhirUrl}/Practitioner`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.toolsToken()}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Practitioner', name: [{ text: 'Omar Said, MD' }] }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    const { hashPassword } = await import('../src/auth/accounts/passwords.ts');
    const { totpContext } = await import('../src/auth/accounts/second-factor.ts');
    const s = server.running.accounts;
    const account = await s.accounts.create({ email, role: 'staff', fhirUser: `Practitioner/${practitioner.id}`, passwordHash: await hashPassword('ward round lemon cobalt') });
    await s.accounts.update(account._id, { totp: { sealedSecret: s.box.seal(DEMO_TOTP_SECRET, totpContext(account._id)), enabledAt: new Date() } });
    const { launch } = await server.running.auth.services.launches.create({ patient: patient.id, createdBy: account._id });
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'openid fhirUser launch patient/Patient.rs', { launch });
    const b = browserFor(server);
    const signIn = await b.visit(auth.url);
    const codePage = await b.follow(await b.submit(signIn, /\/sign-in$/, { email, password: 'ward round lemon cobalt' }));
    expect(titleOf(codePage)).to.equal('Enter your code');
    const consent = await b.follow(await b.submit(codePage, /\/second-factor$/, { code: await totpNow(DEMO_TOTP_SECRET) }));
    expect(titleOf(consent)).to.include(`${patient.name}’s health record`);
    const tokens = await exchange(app, auth, await b.follow(await b.submit(consent, /\/consent$/, { decision: 'allow', scope: 'patient/Patient.rs' })));
    expect(tokens.patient).to.equal(patient.id);
    expect(tokens.need_patient_banner).to.equal(true);
    expect(tokens.claims()?.fhirUser).to.equal(`${server.fhirUrl}/Practitioner/${practitioner.id}`);
  });

  it('the admin API answers an admin’s token and refuses a patient’s', async () => {
    const adminEmail = `admin.${Date.now()}@clinic.example.org`;
    const s = server.running.accounts;
    const { hashPassword } = await import('../src/auth/accounts/passwords.ts');
    const { totpContext } = await import('../src/auth/accounts/second-factor.ts');
    const admin = await s.accounts.create({ email: adminEmail, role: 'admin', passwordHash: await hashPassword('tower garden admin quartz') });
    await s.accounts.update(admin._id, { totp: { sealedSecret: s.box.seal(DEMO_TOTP_SECRET, totpContext(admin._id)), enabledAt: new Date() } });
    const app = await registerApp(server);
    const auth = await authorizationUrl(server, app, 'openid fhirUser user/Patient.rs');
    const b = browserFor(server);
    const codePage = await b.follow(await b.submit(await b.visit(auth.url), /\/sign-in$/, { email: adminEmail, password: 'tower garden admin quartz' }));
    const consent = await b.follow(await b.submit(codePage, /\/second-factor$/, { code: await totpNow(DEMO_TOTP_SECRET) }));
    const tokens = await exchange(app, auth, await b.follow(await b.submit(consent, /\/consent$/, { decision: 'allow', scope: 'user/Patient.rs' })));
    const patient = await createPatient(server);
    const res = await fetch(`${server.baseUrl}/auth/admin/activation-codes`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ mrn: patient.mrn }) });
    expect(res.status).to.equal(201);
    const body = (await res.json()) as { activationCode: string; patient: string };
    expect(body.patient).to.equal(`Patient/${patient.id}`);
    expect(body.activationCode).to.match(/^[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}$/);
    const clients = await fetch(`${server.baseUrl}/auth/admin/clients`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(clients.status).to.equal(200);
    // A patient's token: 403.
    const other = await createPatient(server);
    const { browser } = await registerPatient(server, other);
    const pAuth = await authorizationUrl(server, app, 'launch/patient patient/Patient.rs');
    const pTokens = await exchange(app, pAuth, await browser.follow(await browser.submit(await browser.visit(pAuth.url), /\/consent$/, { decision: 'allow', scope: 'patient/Patient.rs' })));
    const refused = await fetch(`${server.baseUrl}/auth/admin/activation-codes`, { method: 'POST', headers: { authorization: `Bearer ${pTokens.access_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ mrn: other.mrn }) });
    expect(refused.status).to.equal(403);
    expect((await fetch(`${server.baseUrl}/auth/admin/clients`)).status).to.equal(401);
  });
});
