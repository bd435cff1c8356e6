// Builds the Express application: security headers, request ids, request logs, health, FHIR.
// No listening here (main.ts does that), so tests and benchmarks can build the same app.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import express, { type Express, type Request, type RequestHandler, type Response, type Router } from 'express';
import helmet from 'helmet';
import type { ServerConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { createFhirHttpHandler } from './fhir/http/fhir-http-handler.ts';
import type { FhirInteraction } from './fhir/types.ts';
import type { BearerCheck } from './auth/bearer-tokens.ts';
import { createBulkExportHttpHandler, type BulkExportHttpOptions } from './fhir/http/bulk-export-http.ts';
import { portalRouter } from './portal/portal-routes.ts';

export interface AppDependencies {
  config: ServerConfig;
  log: Logger;
  fhir: FhirInteraction;
  isDatabaseHealthy(): Promise<boolean>;
  /** False while the server is still starting (main.ts loads the demo data through the API first). */
  isReady(): boolean;
  /** The authorization server: its routes, and the FHIR API's token check. */
  auth?: { router: Router; smartConfiguration: RequestHandler; bearer: BearerCheck };
  /** Bulk Data export's status URLs and file downloads (absent when export is off). */
  bulk?: Pick<BulkExportHttpOptions, 'bulk' | 'audit'>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

type Middleware = (req: Request, res: Response, next: (err?: unknown) => void) => void;

/**
 * helmet's headers, worked out once so that they can be set in one step: helmet runs a dozen
 * middlewares per request to set the same constant headers (a tenth of the server's CPU for a small
 * search). helmet() with its defaults has no per-request parts (no CSP nonces); a configuration
 * that had some could not be used here.
 */
function staticHeaders(middleware: Middleware): Map<string, string> {
  const headers = new Map<string, string>();
  let finished = false;
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  middleware({ headers: {}, method: 'GET', url: '/' } as Request, recorder as unknown as Response, (err?: unknown) => {
    if (err) throw err;
    finished = true;
  });
  if (!finished || headers.size === 0) throw new Error('helmet did not set its headers synchronously');
  // What helmet removes on every response (X-Powered-By) stays removed: Express is told not to set it.
  return headers;
}

export function createApp(deps: AppDependencies): Express {
  const { config, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // FHIR ETags are version ids, set by the router
  app.set('query parser', 'simple');
  // Behind a TLS-terminating proxy (TRUST_PROXY): one hop, the proxy in front (req.protocol from
  // its X-Forwarded-Proto). Addresses come from client-address.ts, not req.ip.
  app.set('trust proxy', config.trustProxy ? 1 : false);
  const securityHeaders = staticHeaders(helmet());

  // One middleware for what every request gets (each layer costs every request a pass through
  // Express's router): a request id (the caller's X-Request-Id when it is sane, else a new one)
  // and the request's log line.
  app.use((req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
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

  // The FHIR endpoint writes helmet's headers and the request id itself, with its own headers in
  // one step (see fhir-http-handler.ts); it answers every request under /fhir.
  const commonHeaders = [...securityHeaders].flat();
  const setCommonHeaders: Middleware = (_req, res, next) => {
    for (const [name, value] of securityHeaders) res.setHeader(name, value);
    res.setHeader('X-Request-Id', String(res.locals.requestId));
    next();
  };
  // SMART discovery lives under the FHIR base but is not a FHIR interaction (and needs no token).
  if (deps.auth) app.get('/fhir/.well-known/smart-configuration', setCommonHeaders, deps.auth.smartConfiguration);
  // Looked up on each request rather than captured once: the token-check benchmark replaces the
  // check in its baseline server (bench/support/unchecked-server-process.ts).
  const bearer = deps.auth?.bearer;
  const authenticate = bearer ? (authorization: string | undefined, requestId: string) => bearer.authenticate(authorization, requestId) : undefined;
  if (deps.bulk && authenticate) {
    const bulk = createBulkExportHttpHandler({ ...deps.bulk, fhirBase: `${config.baseUrl}/fhir`, authenticate, log, commonHeaders, trustProxy: config.trustProxy });
    app.use('/fhir/bulk-status', bulk);
    app.use('/fhir/bulk-files', bulk);
  }
  app.use(
    '/fhir',
    createFhirHttpHandler({
      interaction: deps.fhir,
      maxBodyBytes: config.maxBodyBytes,
      maxJsonDepth: config.maxJsonDepth,
      log,
      commonHeaders,
      authenticate,
      trustProxy: config.trustProxy,
    }),
  );

  // Everything else gets them here.
  app.use(setCommonHeaders);
  if (deps.auth) app.use(deps.auth.router);

  // 200 {status:"ok"} only when the server is ready and its database answers; 503 with
  // {status:"starting"} or {status:"database unavailable"} otherwise (README "Health").
  app.get('/healthz', async (_req, res) => {
    if (!deps.isReady()) {
      res.status(503).json({ status: 'starting' });
      return;
    }
    const ok = await deps.isDatabaseHealthy();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'database unavailable' });
  });

  // The patient portal at `/` (after every server route, so it never shadows one).
  app.use(portalRouter(config.portal.distDir));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found', fhir: `${config.baseUrl}/fhir` });
  });
  return app;
}

/**
 * The HTTP server for an Express app, creating each request and response with the app's own
 * prototypes (app.request, app.response) from the start. Express gives every incoming request and
 * response its prototypes with Object.setPrototypeOf; done to objects Node has already built and
 * is about to use, that changes their hidden class in the middle of Node's HTTP code, and cost a
 * fifth of the server's CPU on a small search (0.49 → 0.38 ms per request, search benchmark).
 * Built with the right prototype, Express's setPrototypeOf finds nothing to change. Behaviour is
 * unchanged: the objects are the same IncomingMessage/ServerResponse, with the same prototype
 * chain Express would give them.
 */
export function createHttpServer(app: Express): http.Server {
  const options: http.ServerOptions = {};
  // Node's IncomingMessage and ServerResponse are plain constructor functions, so a function with
  // Express's prototype can run them on its own object. (Reflect.construct would also handle a
  // class, but made requests slower than plain Express here: 0.59 against 0.49 ms of CPU. If a
  // Node release turns them into classes, the server simply gets Node's own objects, as before.)
  const initialisable = (base: unknown) => typeof base === 'function' && !/^class\b/.test(Function.prototype.toString.call(base));
  if (initialisable(http.IncomingMessage) && initialisable(http.ServerResponse)) {
    const init = (base: unknown) => base as { call(self: object, ...args: unknown[]): void };
    function AppRequest(this: object, ...args: unknown[]): void {
      init(http.IncomingMessage).call(this, ...args);
    }
    AppRequest.prototype = app.request;
    function AppResponse(this: object, ...args: unknown[]): void {
      init(http.ServerResponse).call(this, ...args);
    }
    AppResponse.prototype = app.response;
    options.IncomingMessage = AppRequest as unknown as typeof http.IncomingMessage;
    options.ServerResponse = AppResponse as unknown as typeof http.ServerResponse;
  }
  return http.createServer(options, app);
}
