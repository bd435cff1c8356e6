// The database for a command-line tool (`npm run admin`, `npm run seed`): MONGODB_URI when set;
// otherwise the local database of the server running on DATA_DIR, if one runs; otherwise the local
// database started for the duration of the command (holding the data directory's lock).
import { MongoClient, type Db } from 'mongodb';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { runningDatabaseUri } from './data-dir-lock.ts';
import { startLocalDatabase, type LocalDatabase } from './local-database.ts';

export interface ToolDatabase {
  db: Db;
  /** The database is FerretDB (no TTL indexes, identifier lookup keys). */
  ferretDb: boolean;
  close(): Promise<void>;
}

export async function connectForTool(config: ServerConfig, log: Logger, options: { startLocal?: boolean } = {}): Promise<ToolDatabase> {
  let local: LocalDatabase | undefined;
  let uri = config.mongoUri ?? runningDatabaseUri(config.dataDir);
  if (!uri && options.startLocal === false) {
    throw new Error(`no server is running on ${config.dataDir} (start it with npm start), and MONGODB_URI is not set`);
  }
  if (!uri) {
    local = await startLocalDatabase(config.dataDir, log, { ferretDbCacheDir: config.ferretDbCacheDir });
    uri = local.uri;
  }
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    await local?.stop();
    throw err;
  }
  const db = client.db(config.databaseName);
  const info = await db.admin().command({ buildInfo: 1 });
  return {
    db,
    ferretDb: typeof info.ferretdbVersion === 'string',
    async close() {
      await client.close();
      await local?.stop();
    },
  };
}
