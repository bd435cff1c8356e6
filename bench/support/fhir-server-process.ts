// The FHIR server as the REST benchmark runs it: its own process (so the load generator does not
// share its event loop), configured like `npm start` through loadConfig, minus demo data.
// argv[2] is JSON of the environment variables to configure it with (MONGODB_URI, PORT, ...).
// Reports { ready: url } over IPC; SIGTERM closes it cleanly.
import { loadConfig } from '../../server/src/config.ts';
import { createLogger } from '../../server/src/logger.ts';
import { startServer } from '../../server/src/server.ts';

const env = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const config = loadConfig(env);
const server = await startServer(config, createLogger(config.logLevel));
process.send?.({ ready: server.url });

process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
