// Connects to MongoDB (or the local database started for us) and creates what the server needs.
import { MongoClient, type Db } from 'mongodb';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
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

export async function connectDatabase(config: ServerConfig, log: Logger): Promise<Database> {
  let local: LocalDatabase | undefined;
  let uri = config.mongoUri;
  if (!uri) {
    local = await startLocalDatabase(config.dataDir, log, { ferretDbCacheDir: config.ferretDbCacheDir });
    uri = local.uri;
  }
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 50,
  });
  try {
    await client.connect();
    await client.db(config.databaseName).command({ ping: 1 });
  } catch (err) {
    await client.close().catch(() => undefined);
    await local?.stop();
    throw err;
  }
  const db = client.db(config.databaseName);
  log.info({ database: config.databaseName, local: local?.kind ?? null }, 'database connected');
  return {
    client,
    db,
    local,
    async isHealthy() {
      try {
        await db.command({ ping: 1 }, { timeoutMS: 2000 });
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
