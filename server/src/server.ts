// Composition: database → repository, journal, validation, search → router → app → listening
// HTTP server. main.ts runs it from the command line; tests and benchmarks start it in-process.
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { createApp, createHttpServer } from './app.ts';
import { AccountStore } from './auth/accounts/account-store.ts';
import { createAuthServer, type AuthServer } from './auth/auth-server.ts';
import { createAccountServices, type AccountServices } from './auth/accounts/account-services.ts';
import { AccountSessions, SESSION_COOKIE } from './auth/accounts/account-sessions.ts';
import { fhirPatientRecords } from './auth/accounts/fhir-records.ts';
import { mountPages } from './auth/pages/mount-pages.ts';
import { createBearerCheck } from './auth/bearer-tokens.ts';
import { mountAdminApi } from './admin/admin-api.ts';
import { adminContext } from './admin/admin-operations.ts';
import { connectDatabase, type Database } from './db/connection.ts';
import { ensureCoreIndexes } from './fhir/repo/indexes.ts';
import { ConditionalClaims } from './fhir/repo/conditional-claims.ts';
import { InstanceRegistry } from './fhir/repo/instance-registry.ts';
import { recoverClaims, recoverTransactions, type Recovery } from './fhir/repo/recovery.ts';
import { ResourceRepository } from './fhir/repo/resource-repository.ts';
import { TransactionJournal } from './fhir/repo/transaction-journal.ts';
import { createFhirRouter } from './fhir/router/fhir-router.ts';
import type { FhirServices } from './fhir/router/services.ts';
import { createDocumentIndexer } from './document-indexer.ts';
import { createAccessPolicy } from './access/access-policy.ts';
import { loadSensitiveDefinition } from './access/data-classes.ts';
import { findBounded } from './db/bounded-find.ts';
import type { CurrentDocument } from './fhir/repo/stored-document.ts';
import { ensureAllSearchIndexes } from './fhir/search/search-indexes.ts';
import { createSearch } from './fhir/router/search.ts';
import { forgetKeyHints, KeyHints, wantsKeyHints } from './fhir/search/key-hints.ts';
import { createValidator } from './fhir/validate/index.ts';
import { AuditTrail, NO_AUDIT } from './audit/audit-trail.ts';
import { AuditJournal } from './audit/audit-journal.ts';
import { AuditMaterializer } from './audit/audit-materializer.ts';
import { AuditNames } from './audit/audit-names.ts';
import { accountAuditEvents } from './audit/account-events.ts';
import { createBulkExport } from './fhir/bulk/bulk-export.ts';

/** How long shutdown waits for requests in flight before closing their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningServer {
  /** Where to reach the server from this machine, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The address it listens on, as bound, e.g. 0.0.0.0:8080 or [::]:8080 */
  listeningOn: string;
  /** Ends the "starting" state of /healthz (see StartOptions.startingUntilReady). */
  markReady(): void;
  database: Database;
  services: FhirServices;
  /** The authorization server (clients, keys, accounts). */
  auth: AuthServer;
  /** Accounts, their sessions, mail and security events (the pages' and admin's services). */
  accounts: AccountServices;
  /** The audit trail's writer (absent with AUDIT_ENABLED=false). */
  audit?: AuditTrail;
  /** Turns the audit journal into AuditEvents (absent with AUDIT_ENABLED=false). */
  auditMaterializer?: AuditMaterializer;
  /** Stops accepting requests, finishes the ones in flight, then closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * /healthz answers 503 {status:"starting"} until markReady() is called: main.ts loads the demo
   * data through the API after listening, and the server is not ready before that. Without it, the
   * server is ready as soon as it listens.
   */
  startingUntilReady?: boolean;
}

export async function startServer(config: ServerConfig, log: Logger, options: StartOptions = {}): Promise<RunningServer> {
  let ready = !options.startingUntilReady;
  const database = await connectDatabase(config, log);
  try {
    await ensureCoreIndexes(database.db);
    await ensureAllSearchIndexes(database.db);
    // Search lookup keys where the database has no multikey index (FerretDB): complete before
    // the first request, then kept by every write (see key-hints.ts).
    const keyHints = (await wantsKeyHints(database.db, config.searchKeyHints)) ? new KeyHints(database.db) : undefined;
    if (keyHints) {
      const built = await keyHints.build();
      if (built > 0) log.info({ resources: built }, 'built search lookup keys');
    } else {
      await forgetKeyHints(database.db);
    }
    const indexer = createDocumentIndexer(config);
    const repo = new ResourceRepository(
      database.db,
      indexer,
      keyHints && ((items) => keyHints.recordAll(items.map(({ type, doc }) => ({ type, id: doc._id, sp: doc.sp })))),
    );
    const journal = new TransactionJournal(repo, log, config.transactionLeaseMs);
    const instances = new InstanceRegistry(database.db);
    await instances.register();
    const conditionalClaims = new ConditionalClaims(database.db, instances.id);
    const recovery: Recovery = { repo, journal, instances, conditionalClaims, log };
    // Transactions left half-done by a crash are settled before the first request is served;
    // single writes a dead server left claimed are settled in the background.
    await recoverTransactions(recovery);
    const claimsSettled = recoverClaims(recovery).catch((err: unknown) =>
      log.error({ err: { name: (err as Error).name } }, 'settling claims of a stopped server failed'),
    );
    journal.startSweeping();
    const validator = await createValidator({
      requireProfiles: config.requireProfiles,
      profilesDir: config.profilesDir,
      maxDepth: config.maxJsonDepth,
    });
    const profilesByType = validator.supportedProfiles();
    // Access (access/) reads what grants access with the server's rights; search asks it for the
    // condition of every type a search touches. Each needs the other, so search comes in late.
    let search: ReturnType<typeof createSearch> | undefined;
    const access = createAccessPolicy({
      read: async (type, id) => (await repo.find(type, id))?.resource as Record<string, unknown> | undefined,
      find: async (type, filter, limit) =>
        (await findBounded<CurrentDocument>(database.db, type, { filter, projection: { resource: 1 }, limit })).map((d) => d.resource as unknown as Record<string, unknown>),
      ids: async (type, filter, limit) => (await findBounded(database.db, type, { filter, projection: { _id: 1 }, limit })).map((d) => String(d._id)),
      clientGroup: async (clientId) => (await auth.services.clients.get(clientId))?.group,
      compile: (type, params) => search!.interactions.compileConditions(type, params),
      sensitive: loadSensitiveDefinition(config.profilesDir, config.access.adolescentSensitiveClasses),
      index: indexer,
      ofPatient: async (type, id, patient) =>
        (await repo.find(type, id, { $or: [{ patient }, { patients: patient }] }))?.resource as unknown as Record<string, unknown> | undefined,
    });
    search = createSearch({
      config,
      repo,
      keyHints,
      restrict: (type, ctx) => access.condition(ctx, type, 'search'),
      assertSearchable: (type, ctx) => void access.restriction(ctx, type, 'search'),
    });
    const accounts = new AccountStore(database.db, async (type, id) => (await repo.find(type, id))?.resource as Record<string, unknown> | undefined);
    await accounts.ensureIndexes();
    // The audit trail names apps and people; the client registry belongs to the authorization
    // server, built below (the trail looks names up only when it writes, after start-up).
    let authServer: AuthServer | undefined;
    const auditJournal = new AuditJournal(database.db);
    const materializer = config.audit.enabled
      ? new AuditMaterializer(
          auditJournal,
          {
            buildDocument: (event, id, lastUpdated) => repo.buildDocument(event, id, 1, lastUpdated),
            insert: (docs) => repo.insertNew('AuditEvent', docs),
          },
          new AuditNames(
            {
              clientName: async (clientId) => (await authServer?.services.clients.get(clientId))?.name,
              accountFhirUser: async (accountId) => (await accounts.find(accountId))?.fhirUser,
            },
            config.baseUrl,
          ),
          instances.id,
          config.audit.materialize,
          log,
        )
      : undefined;
    const audit = materializer ? new AuditTrail(auditJournal, materializer, config.audit, log) : undefined;
    if (audit && materializer) {
      await auditJournal.ensureIndexes();
      audit.onAppend = () => materializer.wake();
      materializer.requests = () => audit.recorded;
      // Journal documents left by earlier runs (or written by other servers) are picked up too.
      materializer.start();
    }
    if (!audit) log.warn('the audit trail is off (AUDIT_ENABLED=false): accesses are not recorded');
    const services: FhirServices = {
      config,
      log,
      repo,
      journal,
      conditionalClaims,
      access,
      audit: audit ?? NO_AUDIT,
      validation: {
        validate: (resource, profiles) => validator.validate(resource, { profiles }),
        assertValid: (resource) => void validator.assertValid(resource),
      },
      findMatches: search.findMatches,
      search: search.interactions,
      supportedProfiles: (type) => profilesByType[type] ?? [],
    };
    // Bulk export: this instance's worker takes jobs any instance queued.
    // The client registry belongs to the authorization server, built below; jobs run after start-up.
    if (config.bulkExport.enabled) {
      services.bulk = await createBulkExport(database.db, config.bulkExport, services, log, async (clientId) => Boolean(await authServer?.services.clients.get(clientId)));
    }
    // TTL indexes expire authorization records where the database has them (not FerretDB 1.x).
    const ferretDb = await wantsKeyHints(database.db, 'auto');
    // Sign-in sessions of the pages; the authorization server's sessions follow them.
    const pageSessions = new AccountSessions(database.db, { idleMinutes: config.auth.sessionIdleMinutes, maxHours: config.auth.sessionMaxHours });
    const records = fhirPatientRecords((type, id) => repo.find(type, id), services.findMatches);
    let accountServices: AccountServices | undefined;
    const auth = await createAuthServer({
      config,
      log,
      db: database.db,
      accounts,
      ttlIndexes: !ferretDb,
      signedInAccount: async (cookie) => {
        const session = await pageSessions.find(cookie);
        return session?.stage === 'complete' ? session.accountId : undefined;
      },
      accountSessionCookie: SESSION_COOKIE,
      endAccountSession: async (cookie) => {
        const ended = await pageSessions.end(cookie);
        if (ended) await accountServices?.events.record({ type: 'sign-out', accountId: ended.accountId });
      },
      patientExists: async (id) => (await records.read('Patient', id)) !== undefined,
      mountPages: async (router, authServices) => {
        accountServices = await createAccountServices({
          config,
          log,
          db: database.db,
          box: authServices.box,
          accounts,
          records,
          ...(audit ? { audit: accountAuditEvents(audit) } : {}),
        });
        mountAdminApi(router, adminContext(config, database.db, accounts, accountServices), createBearerCheck(database.db, accounts, `${config.baseUrl}/fhir`));
        return mountPages(router, authServices, accountServices, accounts);
      },
      audit: services.audit,
    });
    authServer = auth;
    // Jobs run once everything they use is there (the client registry just now).
    services.bulk?.start();
    const app = createApp({
      config,
      log,
      fhir: createFhirRouter(services),
      isDatabaseHealthy: database.isHealthy,
      isReady: () => ready,
      auth,
      ...(services.bulk ? { bulk: { bulk: services.bulk, audit: services.audit } } : {}),
    });
    const server = createHttpServer(app);
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port, address, family } = server.address() as AddressInfo;
    const listeningOn = family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
    // A wildcard address is reached from this machine over loopback.
    const reachable = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : family === 'IPv6' ? `[${address}]` : address;
    const url = `http://${reachable}:${port}`;
    log.info({ listeningOn, fhir: `${config.baseUrl}/fhir` }, 'FHIR server listening');
    return {
      url,
      listeningOn,
      markReady: () => {
        ready = true;
      },
      database,
      services,
      auth,
      accounts: accountServices!,
      audit,
      auditMaterializer: materializer,
      async close() {
        journal.stopSweeping();
        auth.close();
        await claimsSettled;
        await instances.unregister();
        // Finish requests in flight; cut connections still busy after a grace period.
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        // An export in progress stops after its page and is handed back (another instance resumes it).
        await services.bulk?.stop();
        // What the finished requests recorded is written before the database goes.
        await audit?.close();
        await materializer?.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
