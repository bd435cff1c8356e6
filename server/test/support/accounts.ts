// Test support for the accounts and sign-in tests: a server of their own (behind a "trusted
// proxy", so each test can act from its own client address with X-Forwarded-For and throttling
// of one test does not reach another; mail to an outbox of its own), FHIR data made through the
// API with the server's tools client, mail read from the outbox, and the OAuth client side with
// openid-client.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { requestToolsToken, toolsClientKey } from '../../src/auth/tools-client.ts';
import { issueActivationCode } from '../../src/auth/accounts/enrolment.ts';
import { testConfig } from './test-server.ts';
import { PageBrowser, type PageResponse } from './page-browser.ts';
import { TokenSource, useTokenSource } from './test-auth.ts';
import { registerPublicApp, registerWithCode, type TestApp } from './smart-sign-in.ts';

export interface AccountsServer {
  baseUrl: string;
  fhirUrl: string;
  running: RunningServer;
  outbox: string;
  /** A token of the server's tools client (system/*.cruds), to make test data. */
  toolsToken(): Promise<string>;
  close(): Promise<void>;
}

/**
 * `host`: the host of the server's BASE_URL (localhost unless given). `watchCommands`: the
 * server's database driver reports the commands it sends (`running.database.client` emits
 * `commandStarted`), for tests of what a request asks the database.
 */
export async function startAccountsServer(o: { host?: string; watchCommands?: boolean } = {}): Promise<AccountsServer> {
  const outbox = fs.mkdtempSync(path.join(os.tmpdir(), 'outbox-'));
  const base = await testConfig({ trustProxy: true }, o);
  const config = { ...base, mail: { ...base.mail, outboxDir: outbox } };
  if (o.watchCommands) config.mongoUri = `${config.mongoUri}${config.mongoUri!.includes('?') ? '&' : '?'}monitorCommands=true`;
  const running = await startServer(config, createLogger(config.logLevel));
  const tools = new TokenSource(async () => {
    const { services } = running.auth;
    const key = await toolsClientKey(services.db, services.box, services.clients);
    return { access_token: await requestToolsToken(services.endpoints.issuer, `${running.url}/auth/token`, key), expires_in: 230 };
  });
  // fhirFetch (support/http.ts) calls this server as its tools client, as createWith does.
  useTokenSource(config.baseUrl, tools);
  return {
    baseUrl: config.baseUrl,
    fhirUrl: `${config.baseUrl}/fhir`,
    running,
    outbox,
    toolsToken: () => tools.token(),
    async close() {
      await running.close();
      fs.rmSync(outbox, { recursive: true, force: true });
    },
  };
}

/**
 * A client address of its own for one browser (sent as X-Forwarded-For through the trusted proxy,
 * so each test's attempts count against its own address): an IPv6 address of the documentation
 * prefix 2001:db8::/32 with random low bits.
 */
export const freshAddress = (): string => `2001:db8:${randomUUID().slice(0, 4)}::${randomUUID().slice(0, 4)}:${randomUUID().slice(0, 4)}`;

export function browserFor(server: AccountsServer): PageBrowser {
  return new PageBrowser(server.baseUrl, { 'x-forwarded-for': freshAddress() });
}

export const uniqueEmail = (who: string): string => `${who}.${randomUUID().slice(0, 8)}@example.org`;
export const uniqueMrn = (): string => `9${Date.now().toString().slice(-7)}${Math.floor(Math.random() * 90 + 10)}`;

async function fhirPost(server: AccountsServer, type: string, resource: object): Promise<{ id: string }> {
  const res = await fetch(`${server.fhirUrl}/${type}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await server.toolsToken()}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  if (res.status !== 201) throw new Error(`creating ${type} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

export interface TestPatient {
  id: string;
  mrn: string;
  birthDate: string;
  name: string;
  email: string;
}

/** A patient who can register (an MRN, a birth date, an email address); `more` adds to the Patient resource. */
export async function createPatient(server: AccountsServer, o: { given?: string; family?: string; birthDate?: string; more?: Record<string, unknown> } = {}): Promise<TestPatient> {
  const mrn = uniqueMrn();
  const given = o.given ?? 'Alba';
  const family = o.family ?? `Tester${randomUUID().slice(0, 4)}`;
  const birthDate = o.birthDate ?? '1984-06-15';
  const email = uniqueEmail(given.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase());
  const created = await fhirPost(server, 'Patient', {
    resourceType: 'Patient',
    identifier: [{ system: 'https://health-records.dev/fhir/sid/mrn', value: mrn }],
    name: [{ given: [given], family, text: `${given} ${family}` }],
    birthDate,
    telecom: [{ system: 'email', value: email }],
    ...o.more,
  });
  return { id: created.id, mrn, birthDate, name: `${given} ${family}`, email };
}

export async function createRelatedPerson(server: AccountsServer, patientId: string, o: { given: string; family: string; email: string }): Promise<string> {
  const created = await fhirPost(server, 'RelatedPerson', {
    resourceType: 'RelatedPerson',
    patient: { reference: `Patient/${patientId}` },
    name: [{ given: [o.given], family: o.family, text: `${o.given} ${o.family}` }],
    telecom: [{ system: 'email', value: o.email }],
  });
  return created.id;
}

function decodeQuotedPrintable(text: string): string {
  const bytes = Buffer.from(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return bytes.toString('utf8');
}

/** The newest message to `to` in the outbox (waits for it a little), as plain text. */
export async function mailTo(server: AccountsServer, to: string, after = 0): Promise<{ subject: string; text: string }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const files = fs.existsSync(server.outbox) ? fs.readdirSync(server.outbox).filter((f) => f.endsWith('.eml')).sort() : [];
    for (const file of files.reverse()) {
      const full = path.join(server.outbox, file);
      if (fs.statSync(full).mtimeMs < after) continue;
      const raw = fs.readFileSync(full, 'utf8');
      const [head, ...rest] = raw.split(/\r?\n\r?\n/);
      if (!new RegExp(`^To: .*${to.replace(/[.+]/g, '\\$&')}`, 'mi').test(head)) continue;
      const body = rest.join('\n\n');
      const text = /quoted-printable/i.test(head) ? decodeQuotedPrintable(body) : body;
      const subject = /^Subject: (.*)$/m.exec(head)?.[1] ?? '';
      return { subject, text };
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${to} in ${server.outbox}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const linkIn = (text: string): string => {
  const m = /(https?:\/\/\S+token=[A-Za-z0-9_-]+)/.exec(text);
  if (!m) throw new Error(`no link in mail: ${text}`);
  return m[1];
};

/** The password registerPatient gives a patient's account unless told another. */
export const PATIENT_PASSWORD = 'sunny otter canoe lantern';

/** Registers a patient account through the activation-code page; returns the browser, signed in. */
export async function registerPatient(server: AccountsServer, patient: TestPatient, password = PATIENT_PASSWORD): Promise<{ browser: PageBrowser; email: string; password: string }> {
  const { code } = await issueCode(server, patient.mrn);
  const browser = browserFor(server);
  await registerWithCode(browser, patient, code, password);
  return { browser, email: patient.email, password };
}

/** What `npm run admin -- activation-code --mrn M` does, in-process. */
export async function issueCode(server: AccountsServer, mrn: string): Promise<{ code: string }> {
  return issueActivationCode(server.running.accounts, mrn);
}

/** The current TOTP code for a base32 secret (what an authenticator app shows). */
export const totpNow = (secret: string): Promise<string> => generate({ secret });

/** The authenticator key shown on the TOTP set-up page. */
export function totpSecretOn(page: PageResponse): string {
  const m = /<span class="secret">([A-Z2-7 ]+)<\/span>/.exec(page.text);
  if (!m) throw new Error('no authenticator key on the page');
  return m[1].replace(/ /g, '');
}

// ---- the app side: openid-client (smart-sign-in.ts) -------------------------------------------------

export { authorizationUrl, exchange, type Authorization, type TestApp } from './smart-sign-in.ts';

export async function registerApp(server: AccountsServer, o: { name?: string; scope?: string } = {}): Promise<TestApp> {
  return registerPublicApp(server.running.auth.services.clients, server.baseUrl, o);
}
