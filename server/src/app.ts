// Builds the Express application: security headers, request ids, request logs, health, FHIR.
// No listening here (main.ts does that), so tests and benchmarks can build the same app.
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { ServerConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { createFhirHttpRouter } from './fhir/http/fhir-http-handler.ts';
import type { FhirInteraction } from './fhir/types.ts';

export interface AppDependencies {
  config: ServerConfig;
  log: Logger;
  fhir: FhirInteraction;
  isDatabaseHealthy(): Promise<boolean>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function createApp(deps: AppDependencies): Express {
  const { config, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // FHIR ETags are version ids, set by the router
  app.set('query parser', 'simple');
  app.use(helmet());

  // A request id per request: the caller's X-Request-Id when it is sane, else a new one.
  app.use((req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // Method, path without query (query values can carry PHI), status and timing only.
      log.info(
        {
          requestId: id,
          method: req.method,
          path: req.originalUrl.split('?')[0].slice(0, 200),
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  });

  app.get('/healthz', async (_req, res) => {
    const ok = await deps.isDatabaseHealthy();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'database unavailable' });
  });

  app.use('/fhir', createFhirHttpRouter({ interaction: deps.fhir, maxBodyBytes: config.maxBodyBytes, log }));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found', fhir: `${config.baseUrl}/fhir` });
  });
  return app;
}
