// pino JSON lines. Never log resource contents, tokens, passwords or query values that may carry
// PHI: request logs carry method, route shape, status, duration and the request id only.
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Log lines are collected and written to stdout in blocks of about 4 KB, at the latest every half
 * second, rather than with one write(2) per line: at a few thousand requests a second, one system
 * call per request log line was a tenth of the server's CPU. pino flushes what is pending when
 * the process exits (also on process.exit and uncaught errors); a process killed with SIGKILL
 * loses at most the last half second of lines.
 */
const FLUSH_BYTES = 4096;
const FLUSH_MS = 500;

export function createLogger(level: string): Logger {
  const options = {
    level,
    base: { service: 'health-records' },
    // Belt and braces: if anyone logs a request object, its secrets are dropped.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'body', 'resource'],
      remove: true,
    },
  };
  if (level === 'silent') return pino(options);
  return pino(options, pino.destination({ dest: 1, sync: false, minLength: FLUSH_BYTES, periodicFlush: FLUSH_MS }));
}
