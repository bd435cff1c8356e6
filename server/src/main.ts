// Entry point: config → database → app → listen → demo data → ready; graceful shutdown on
// SIGINT/SIGTERM. `npm start` executes node on this file directly (package.json), so the signal a
// process manager sends to the npm pid reaches this process, which stops the database too.
import { loadConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { LocalDatabaseError } from './db/local-database.ts';
import { startServer, type RunningServer } from './server.ts';
import { ensurePortalBuilt } from './portal/portal-build.ts';
import { requestToolsToken, toolsClientKey } from './auth/tools-client.ts';
import { loadDemoData } from '../../seed-data/load-demo.ts';
import { ensureDemoAccounts } from './auth/accounts/demo-accounts.ts';

/**
 * Loads the committed demo set through the FHIR API when the database holds no patients yet, as a
 * backend service with the server's own tools client (auth/tools-client.ts).
 */
async function loadDemoDataIfEmpty(server: RunningServer, log: Logger): Promise<void> {
  const fhir = `${server.url}/fhir`;
  const { services } = server.auth;
  const key = await toolsClientKey(services.db, services.box, services.clients);
  const token = await requestToolsToken(services.endpoints.issuer, `${server.url}/auth/token`, key);
  const headers = { authorization: `Bearer ${token}` };
  const res = await fetch(`${fhir}/Patient?_summary=count`, { headers: { accept: 'application/fhir+json', ...headers } });
  const total = res.ok ? ((await res.json()) as { total?: number }).total : undefined;
  if (total !== 0) return;
  process.stdout.write('Empty database: loading the demo data set (about 20 patients)...\n');
  // Dates move by whole weeks to today, so the demo's upcoming appointments are still upcoming.
  const summary = await loadDemoData(fhir, { rebaseTo: new Date(), headers });
  if (summary.failed > 0) {
    log.error({ failed: summary.failed }, 'some demo bundles failed to load');
    process.stdout.write(`Demo data: ${summary.failed} bundle(s) failed; see the log.\n`);
  } else {
    process.stdout.write(`Demo data loaded: ${summary.resources} resources in ${(summary.elapsedMs / 1000).toFixed(1)} s.\n`);
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  let server: RunningServer | undefined;
  let stopping = false;
  const stop = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    // Still starting: nothing to finish. Exiting stops a local database already started (its
    // 'exit' handler, and the kernel through setpriv; see db/database-process.ts).
    if (!server) process.exit(exitCode);
    const timer = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      // Never leave the local database running behind us.
      void (server?.database.local?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
    }, 20_000);
    timer.unref();
    await server.close();
    log.info('stopped');
    process.exit(exitCode);
  };
  // Installed before start-up, so that a stop during it (a process manager giving up on a slow
  // first start) is not left to Node's default, which would skip our exit handlers.
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  // The portal is built before the server listens (a first build takes some seconds; later
  // starts find it current). A failed build does not stop the FHIR server: `/` says it is not built.
  if (config.portal.buildAtStart) {
    try {
      await ensurePortalBuilt(config.portal, () => process.stdout.write('Building the patient portal (client/ changed since the last build)…\n'));
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
    }
  }

  try {
    server = await startServer(config, log, { startingUntilReady: true });
  } catch (err) {
    if (stopping) return;
    if (err instanceof LocalDatabaseError) {
      process.stderr.write(`\nCannot start: ${err.message}\n`);
      process.exit(1);
    }
    const e = err as Error;
    log.fatal({ err: { message: e.message, name: e.name } }, 'start-up failed');
    process.stderr.write(`\nCannot start: ${e.message}\n`);
    process.exit(1);
  }
  if (stopping) return;
  server.database.local?.onGiveUp((message) => {
    process.stderr.write(`\nStopping: ${message}.\n`);
    void stop('local database lost', 1);
  });

  if (config.loadDemoData) {
    try {
      await loadDemoDataIfEmpty(server, log);
      // Sign-ins for the demo patients, proxies, a clinician and an admin (README "Demo accounts").
      const created = await ensureDemoAccounts(server.accounts);
      if (created > 0) process.stdout.write(`Demo accounts created: ${created} (DEMO ONLY; passwords in README "Demo accounts").\n`);
    } catch (err) {
      if (!stopping) log.error({ err: { message: (err as Error).message } }, 'loading demo data failed');
    }
  }
  if (stopping) return;
  server.markReady();
  process.stdout.write(`FHIR server ready at ${config.baseUrl}/fhir (listening on ${server.listeningOn})\n`);
}

void main();
