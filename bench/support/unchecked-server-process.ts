// The token-check benchmark's baseline: the FHIR server exactly as fhir-server-process.ts starts
// it, except that the access token of each request is not looked up. The first request with a
// given Authorization header is checked for real; later ones reuse that answer (a fresh context
// per request, so the access view is still worked out on every request as usual). Everything
// else — access rules, the audit trail, the read — stays the same, so the difference between the
// two servers is the token check alone. This exists only here, in the benchmark: the product
// has no way to turn the check off.
import { loadConfig } from '../../server/src/config.ts';
import { createLogger } from '../../server/src/logger.ts';
import { startServer } from '../../server/src/server.ts';
import type { AccessContext } from '../../server/src/fhir/types.ts';

const env = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const config = loadConfig(env);
const server = await startServer(config, createLogger(config.logLevel));

const bearer = server.auth.bearer;
const check = bearer.authenticate.bind(bearer);
const known = new Map<string, AccessContext>();
bearer.authenticate = async (authorization, requestId) => {
  const key = authorization ?? '';
  let ctx = known.get(key);
  if (!ctx) {
    ctx = await check(authorization, requestId);
    known.set(key, ctx);
  }
  const { view: _view, ...caller } = ctx;
  return { ...caller, requestId };
};

process.send?.({ ready: server.url });
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
