// pino JSON lines. Never log resource contents, tokens, passwords or query values that may carry
// PHI: request logs carry method, route shape, status, duration and the request id only.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'health-records' },
    // Belt and braces: if anyone logs a request object, its secrets are dropped.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'body', 'resource'],
      remove: true,
    },
  });
}
