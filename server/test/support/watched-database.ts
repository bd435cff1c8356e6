// A database of its own on the test database server, with every command the driver sends recorded
// (the driver's command monitoring): for tests of what reaches the database, not only of answers.
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { testDatabaseUri } from './test-server.ts';

export interface WatchedDatabase {
  db: Db;
  /** The commands sent since the start (or since the test emptied the list). */
  commands: CommandStartedEvent[];
  /** Drops the database and closes the connection. */
  close(): Promise<void>;
}

export async function watchedDatabase(prefix: string): Promise<WatchedDatabase> {
  const client = new MongoClient(await testDatabaseUri(), { monitorCommands: true });
  await client.connect();
  const commands: CommandStartedEvent[] = [];
  client.on('commandStarted', (e) => commands.push(e));
  const db = client.db(`${prefix}_${Date.now().toString(36)}`);
  return {
    db,
    commands,
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
