// Entry point: config → database → app → listen; graceful shutdown on SIGINT/SIGTERM.
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { LocalDatabaseError } from './db/local-database.ts';
import { startServer, type RunningServer } from './server.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  let server: RunningServer;
  try {
    server = await startServer(config, log);
  } catch (err) {
    if (err instanceof LocalDatabaseError) {
      process.stderr.write(`\nCannot start: ${err.message}\n`);
      process.exit(1);
    }
    const e = err as Error;
    log.fatal({ err: { message: e.message, name: e.name } }, 'start-up failed');
    process.stderr.write(`\nCannot start: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`FHIR server ready at ${config.baseUrl}/fhir (listening on ${server.url})\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 20_000);
    timer.unref();
    await server.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

void main();
