// Patient access tokens for a benchmark, obtained the way a patient and a SMART app obtain them
// (server/test/support/smart-sign-in.ts): the clinic issues an activation code (what `npm run
// admin -- activation-code --mrn M` does, on the server's database), the patient registers with
// MRN, date of birth and code on /account/register (or, with an account already there from an
// earlier run on a kept database, signs in on /account/sign-in), and a public app launches
// standalone with PKCE through the consent page and exchanges the code with openid-client.
// Registration and sign-in hash a password with argon2 (~0.3 s each on the 2-core machine).
import type { Db } from 'mongodb';
import type { ServerConfig } from '../../server/src/config.ts';
import { activationCode } from '../../server/src/admin/account-operations.ts';
import { adminContext } from '../../server/src/admin/admin-operations.ts';
import { PageBrowser } from '../../server/test/support/page-browser.ts';
import { launch, registerPublicApp, registerWithCode, signIn } from '../../server/test/support/smart-sign-in.ts';

export interface BenchPerson {
  /** Patient id. */
  id: string;
  mrn: string;
  birthDate: string;
}

/** Each benchmark person's password (a benchmark's accounts on a benchmark's database). */
const PASSWORD = 'sunny otter canoe lantern';
/** Sign-ins at once: argon2 keeps a core busy for each. */
const PARALLEL = 2;

/**
 * An access token for each person (by patient id) from a standalone launch with `scopes`, through
 * the server at config.baseUrl running on `db` with this configuration (its AUTH_SECRET).
 */
export async function patientTokens(config: ServerConfig, db: Db, people: BenchPerson[], scopes: string[]): Promise<Map<string, string>> {
  const admin = adminContext(config, db);
  const server = { baseUrl: config.baseUrl, fhirUrl: `${config.baseUrl}/fhir` };
  const app = await registerPublicApp(admin.clients, config.baseUrl, { name: 'Benchmark patient portal' });
  const tokens = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < people.length) {
      const person = people[next++];
      const email = `bench.${person.id}@example.org`;
      const browser = new PageBrowser(config.baseUrl);
      if ((await admin.accounts.byFhirUser(`Patient/${person.id}`)).length > 0) {
        await signIn(browser, email, PASSWORD);
      } else {
        const { activationCode: code } = await activationCode(admin, { mrn: person.mrn });
        await registerWithCode(browser, { ...person, email }, code, PASSWORD);
      }
      tokens.set(person.id, (await launch(server, browser, app, ['launch/patient', ...scopes])).token);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return tokens;
}
