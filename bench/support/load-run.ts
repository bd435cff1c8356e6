// Fixed-duration load runs with autocannon (programmatic API). Every response's latency is kept,
// so the runs of one target can be merged (the REST benchmark alternates short runs of the
// server and the baseline to spread the machine's other load evenly over both).
// autocannon ships no types; the part used here is declared below.
import { createRequire } from 'node:module';

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  requests: Array<AutocannonRequest & { setupRequest?: (req: AutocannonRequest) => AutocannonRequest }>;
}

interface AutocannonResult {
  /** Seconds the run really lasted. */
  duration: number;
  errors: number;
  statusCodeStats: Record<string, { count: number }>;
}

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
}

type Autocannon = (opts: AutocannonOptions, done: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadRun {
  seconds: number;
  /** Latency of every response, ms. */
  latencies: number[];
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
}

export interface LoadPlan {
  url: string;
  seconds: number;
  connections: number;
  /** Builds each request (method, path, body, headers of its own); called once per request sent. */
  next: () => AutocannonRequest;
  /** Headers every request carries besides the JSON ones (an Authorization header). */
  headers?: Record<string, string>;
}

const JSON_HEADERS = { accept: 'application/fhir+json', 'content-type': 'application/fhir+json' };

export function runLoad(plan: LoadPlan): Promise<LoadRun> {
  const headers = { ...JSON_HEADERS, ...plan.headers };
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const instance = autocannon(
      {
        url: plan.url,
        connections: plan.connections,
        duration: plan.seconds,
        timeout: 30,
        requests: [
          {
            headers,
            setupRequest: (req) => {
              const r = plan.next();
              return { ...req, ...r, headers: r.headers ? { ...headers, ...r.headers } : headers };
            },
          },
        ],
      },
      (err, r) => {
        if (err) return reject(err);
        const statuses: Record<string, number> = {};
        for (const [code, s] of Object.entries(r.statusCodeStats)) statuses[code] = Number(s.count);
        resolve({ seconds: r.duration, latencies, statuses, errors: r.errors });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
}

export interface LoadFigures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  total: number;
  /** Responses that were not 2xx, plus connection errors. */
  failures: number;
  failureDetail: string;
}

/** Throughput, latency percentiles and failures over several runs of one target. */
export function summarize(runs: LoadRun[]): LoadFigures {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN);
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  const bad = Object.entries(statuses).filter(([code]) => !code.startsWith('2'));
  const detail = bad.map(([code, n]) => `${code}×${n}`);
  if (errors > 0) detail.push(`errors×${errors}`);
  return {
    requestsPerSecond: total / runs.reduce((s, r) => s + r.seconds, 0),
    p50: at(0.5),
    p99: at(0.99),
    total,
    failures: bad.reduce((n, [, c]) => n + c, 0) + errors,
    failureDetail: detail.join(' '),
  };
}
