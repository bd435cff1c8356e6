// A server for the portal's browser tests: the portal built (when its sources changed since the
// last build), the clinic and the named demo patients loaded through the FHIR API (dates moved to
// today, as `npm start` does), and the demo accounts of those patients.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../server/src/config.ts';
import { ensurePortalBuilt } from '../../../server/src/portal/portal-build.ts';
import { ensureDemoAccounts } from '../../../server/src/auth/accounts/demo-accounts.ts';
import { demoBundleFiles, loadDemoData } from '../../../seed-data/load-demo.ts';
import { startAccountsServer, type AccountsServer } from '../../../server/test/support/accounts.ts';

const DEMO_DIR = path.resolve(import.meta.dirname, '..', '..', '..', 'seed-data', 'demo');

/** `patients`: demo bundle file names without the clinic's (e.g. '01-mei-helen-rossi.json'). */
export async function startPortalServer(patients: string[]): Promise<AccountsServer> {
  await ensurePortalBuilt(loadConfig().portal);
  const server = await startAccountsServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-demo-'));
  try {
    const [clinic] = await demoBundleFiles(DEMO_DIR);
    for (const file of [clinic, ...patients]) fs.copyFileSync(path.join(DEMO_DIR, file), path.join(dir, file));
    const summary = await loadDemoData(server.fhirUrl, { dir, rebaseTo: new Date(), accessToken: () => server.toolsToken() });
    if (summary.failed > 0) throw new Error(`${summary.failed} demo bundles failed to load`);
    await ensureDemoAccounts(server.running.accounts);
  } catch (err) {
    await server.close();
    throw err;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return server;
}
