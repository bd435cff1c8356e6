// Sign-ins for the demo data set (seed-data/demo), created by `npm start` when it loads the demo
// data: some patients, their proxies, a clinician and an admin, with passwords written in the
// README. DEMO ONLY: anyone who reads the README can sign in with them; a real clinic loads no
// demo data (LOAD_DEMO_DATA=false) and gets none of these accounts.
import type { AccountServices } from './account-services.ts';
import { nameOf } from './account-services.ts';
import type { AccountDocument } from './account-store.ts';
import { hashPassword } from './passwords.ts';
import { totpContext } from './second-factor.ts';

export const DEMO_PATIENT_PASSWORD = 'quiet-maple-harbor-demo';
export const DEMO_STAFF_PASSWORD = 'staff-demo-lantern-orbit';
export const DEMO_ADMIN_PASSWORD = 'admin-demo-cobalt-meadow';
/** Authenticator key of the demo clinician and admin (staff must use a second factor). */
export const DEMO_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

interface DemoAccount {
  email: string;
  role: AccountDocument['role'];
  fhirUser?: string;
  proxyFor?: Array<{ relatedPerson: string; patient: string }>;
  password: string;
  /** The resource whose name the account takes. */
  nameFrom?: ['Patient' | 'RelatedPerson' | 'Practitioner', string];
  totp?: boolean;
}

export const DEMO_ACCOUNTS: DemoAccount[] = [
  { email: 'mei.rossi73@example.org', role: 'patient', fhirUser: 'Patient/4d8c7d5b-b02e-583f-83e1-100caf275787', password: DEMO_PATIENT_PASSWORD, nameFrom: ['Patient', '4d8c7d5b-b02e-583f-83e1-100caf275787'] },
  { email: 'nia.ali57@example.org', role: 'patient', fhirUser: 'Patient/82b88b5f-dcdd-5f0e-823c-aac44efde474', password: DEMO_PATIENT_PASSWORD, nameFrom: ['Patient', '82b88b5f-dcdd-5f0e-823c-aac44efde474'] },
  {
    email: 'olivia.ali70@example.org',
    role: 'proxy',
    proxyFor: [{ relatedPerson: 'f7a2a29d-1fa1-5cd7-ba37-307aeb6c601c', patient: '82b88b5f-dcdd-5f0e-823c-aac44efde474' }],
    password: DEMO_PATIENT_PASSWORD,
    nameFrom: ['RelatedPerson', 'f7a2a29d-1fa1-5cd7-ba37-307aeb6c601c'],
  },
  {
    email: 'priya.fischer88@example.org',
    role: 'proxy',
    proxyFor: [{ relatedPerson: '5d779aea-cc51-56bb-85e6-e1995a37ff06', patient: '22403986-9083-55f9-b583-0ed91bef3c92' }],
    password: DEMO_PATIENT_PASSWORD,
    nameFrom: ['RelatedPerson', '5d779aea-cc51-56bb-85e6-e1995a37ff06'],
  },
  {
    email: 'chloe.schmidt@clinic.example.org',
    role: 'staff',
    fhirUser: 'Practitioner/93cfb11f-ab4b-59bb-98d7-791fb8790e55',
    password: DEMO_STAFF_PASSWORD,
    nameFrom: ['Practitioner', '93cfb11f-ab4b-59bb-98d7-791fb8790e55'],
    totp: true,
  },
  { email: 'admin@clinic.example.org', role: 'admin', password: DEMO_ADMIN_PASSWORD, totp: true },
];

/** Creates the demo accounts that do not exist yet (those whose FHIR resources are loaded). */
export async function ensureDemoAccounts(s: AccountServices): Promise<number> {
  let created = 0;
  for (const demo of DEMO_ACCOUNTS) {
    if (await s.accounts.byEmail(demo.email)) continue;
    const resource = demo.nameFrom ? await s.records.read(demo.nameFrom[0], demo.nameFrom[1]) : undefined;
    if (demo.nameFrom && !resource) continue; // not this demo data set
    const account = await s.accounts.create({
      email: demo.email,
      role: demo.role,
      fhirUser: demo.fhirUser,
      proxyFor: demo.proxyFor,
      name: nameOf(resource) ?? 'Demo administrator',
      passwordHash: await hashPassword(demo.password),
    });
    if (demo.totp) {
      await s.accounts.update(account._id, { totp: { sealedSecret: s.box.seal(DEMO_TOTP_SECRET, totpContext(account._id)), enabledAt: new Date() } });
    }
    await s.events.record({ type: 'account-created', accountId: account._id, reason: 'demo account' });
    created++;
  }
  return created;
}
