// Connects to MongoDB (or the local database started for us) and creates what the server needs.
import { MongoClient, type Db } from 'mongodb';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { isDatabaseUnavailable } from './database-unavailable.ts';
import { startLocalDatabase, type LocalDatabase } from './local-database.ts';

export interface Database {
  client: MongoClient;
  db: Db;
  /** The local database process we started, if any (stopped on close). */
  local?: LocalDatabase;
  /** True when the database answers a ping within a short time. */
  isHealthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** How long start-up keeps trying to reach a database that does not answer yet (e.g. starting too). */
const CONNECT_AT_START_MS = 10_000;
/** /healthz must answer quickly when the database is gone, whatever the request timeouts are. */
const HEALTH_PING_MS = 1000;

function createClient(uri: string, config: ServerConfig): MongoClient {
  return new MongoClient(uri, {
    // How long an operation waits for a database that is not there before it fails (and the
    // request answers 503, see database-unavailable.ts). The driver's default of 30 s (10 s here
    // before) held every request that long during an outage; a short wait still rides out a
    // restart of the local database or a quick replica-set failover.
    serverSelectionTimeoutMS: config.databaseWaitMs,
    // An unreachable host (packets dropped rather than refused) is given up on after this long.
    connectTimeoutMS: 5000,
    maxPoolSize: 50,
  });
}

export async function connectDatabase(config: ServerConfig, log: Logger): Promise<Database> {
  let local: LocalDatabase | undefined;
  let uri = config.mongoUri;
  if (!uri) {
    local = await startLocalDatabase(config.dataDir, log, { ferretDbCacheDir: config.ferretDbCacheDir });
    uri = local.uri;
  }
  let client: MongoClient | undefined;
  const deadline = Date.now() + CONNECT_AT_START_MS;
  while (!client) {
    const candidate = createClient(uri, config);
    try {
      await candidate.connect();
      await candidate.db(config.databaseName).command({ ping: 1 });
      client = candidate;
    } catch (err) {
      await candidate.close().catch(() => undefined);
      if (Date.now() < deadline && isDatabaseUnavailable(err)) continue;
      await local?.stop();
      throw err;
    }
  }
  const db = client.db(config.databaseName);
  log.info({ database: config.databaseName, local: local?.kind ?? null }, 'database connected');
  return {
    client,
    db,
    local,
    async isHealthy() {
      try {
        await db.command({ ping: 1 }, { timeoutMS: HEALTH_PING_MS });
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await client.close().catch(() => undefined);
      await local?.stop();
    },
  };
}
