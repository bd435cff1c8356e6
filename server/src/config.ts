// The one typed configuration object. Nothing else in the server reads process.env.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RELEASE_DELAYS, parseReleaseDelays, type ReleaseDelays } from './access/result-release.ts';

export interface PortalConfig {
  /** The portal's sources (client/); a build is redone when a hash of them changes. */
  sourceDir: string;
  /** The built portal the server serves at `/` (PORTAL_DIR, default client/dist). */
  distDir: string;
  /** `npm start` builds the portal when its sources changed since the last build (PORTAL_BUILD). */
  buildAtStart: boolean;
}

export interface ServerConfig {
  /** TCP port the HTTP server listens on (0 picks a free one). */
  port: number;
  /** Host/interface to bind. */
  host: string;
  /** Public base URL of the server, used for absolute URLs it writes (fullUrl, Location, links). */
  baseUrl: string;
  /** MongoDB connection string; when unset the server starts a local database under dataDir. */
  mongoUri: string | undefined;
  /** Database name inside the MongoDB deployment. */
  databaseName: string;
  /**
   * How long a database operation waits for an unreachable database before the request answers
   * 503 (the driver's serverSelectionTimeoutMS).
   */
  databaseWaitMs: number;
  /** Where the local database keeps its data and where its binary is built. */
  dataDir: string;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Largest number of entries accepted in a batch or transaction Bundle. */
  maxBundleEntries: number;
  /**
   * Deepest nesting of objects and arrays accepted in a request body or a resource to be stored
   * (`{}` is 1, `{"a":[{}]}` is 3). Checked before anything walks the JSON recursively, so that a
   * hostile body cannot overflow the stack. Real resources stay far below the default of 64: a
   * QuestionnaireResponse nests 4 levels per level of answered questions, so a transaction Bundle
   * (3 levels) holding one whose coded answers nest 12 questions deep reaches about 55. At
   * most 99: MongoDB nests documents at most 100 levels, and a resource sits one level below the
   * top of its document.
   */
  maxJsonDepth: number;
  /** pino log level. */
  logLevel: string;
  /** Default and maximum page size for history (and later search). */
  defaultPageSize: number;
  maxPageSize: number;
  /** Where a built FerretDB binary is cached across clean checkouts (CI sets it). */
  ferretDbCacheDir: string | undefined;
  /** How long a transaction's journal lease lasts without renewal before it counts as abandoned. */
  transactionLeaseMs: number;
  /** Load the demo data set into an empty database at start. */
  loadDemoData: boolean;
  /**
   * Resources of the six central types (Patient, Observation, Appointment, MedicationRequest,
   * Communication, Invoice) must conform to one of our profiles (fhir-profiles/README.md).
   * Off by default so that plain R4 clients keep working.
   */
  requireProfiles: boolean;
  /** The patient portal (client/): where its built files are served from, and whether start-up builds it. */
  portal: PortalConfig;
  /** Folder of the StructureDefinitions/ValueSets/CodeSystems the validator loads. */
  profilesDir: string;
  /**
   * Search lookup keys beside the documents (fhir/search/key-hints.ts): `auto` (default) uses
   * them on FerretDB, which has no multikey indexes, and not on MongoDB.
   */
  searchKeyHints: 'auto' | 'on' | 'off';
  /** How much work one search may cause (see SearchLimits). */
  searchLimits: SearchLimits;
  /** Root of the repository (for fhir-profiles/ and seed-data/). */
  rootDir: string;
  /**
   * Requests come through a TLS-terminating proxy: trust its X-Forwarded-* headers (secure
   * cookies, client addresses for throttling).
   */
  trustProxy: boolean;
  auth: AuthConfig;
  /** The clinic's name and colour on the sign-in pages and in the SMART style. */
  clinic: { name: string; color: string };
  access: AccessConfig;
  mail: MailConfig;
  audit: AuditConfig;
  bulkExport: BulkExportConfig;
}

/** Bulk Data export (fhir/bulk/): jobs, their workers and their files. */
export interface BulkExportConfig {
  /** BULK_EXPORT_ENABLED (default true): false leaves $export out and runs no worker on this instance. */
  enabled: boolean;
  /**
   * BULK_EXPORT_WORKER (default true): this instance runs export jobs. false for instances that
   * only serve the API (kick-offs, status, downloads) while others do the exporting.
   */
  worker: boolean;
  /** BULK_FILE_STORE: where the NDJSON files go, `gridfs` (the database, default) or `directory`. */
  fileStore: 'gridfs' | 'directory';
  /** BULK_FILE_DIR: the folder of the `directory` store (DATA_DIR/bulk-files). */
  fileDir: string;
  /** BULK_FILE_HOURS (default 24): how long a finished export's files stay downloadable (then deleted), in ms. */
  fileKeepMs: number;
  /** BULK_FILE_MAX_BYTES: an output file is split once it reaches about this size. */
  fileMaxBytes: number;
  /** BULK_PAGE_SIZE: resources read (and written as one piece) per step of a job. */
  pageSize: number;
  /** BULK_MAX_JOBS_PER_CLIENT: jobs one client may have queued or running; more answer 429. */
  maxJobsPerClient: number;
  /** BULK_LEASE_MS: how long a worker holds a job without renewing its lease (then another resumes it). */
  leaseMs: number;
  /** BULK_WORKER_POLL_MS: how often an idle worker looks for a job (kick-offs wake it at once). */
  workerPollMs: number;
  /** BULK_RETRY_AFTER_SECONDS: the Retry-After of a status answer while a job runs. */
  retryAfterSeconds: number;
  /** BULK_MIN_POLL_MS: a status request sooner than this after the last one answers 429. */
  minPollMs: number;
}

/**
 * The audit trail (audit/): every access, sign-in, token and release recorded as an AuditEvent,
 * written in batches off the request path.
 */
export interface AuditConfig {
  /**
   * AUDIT_ENABLED (default true). false stops the audit writer only (authentication and access
   * rules stay as they are); it exists so that benchmarks can measure what auditing costs, and
   * must not be used in production.
   */
  enabled: boolean;
  /** AUDIT_FLUSH_MS: longest wait before queued records are written to the journal. */
  flushMs: number;
  /** AUDIT_BATCH_SIZE: AuditEvents (estimated from the records) per journal document; a full batch is written at once. */
  batchSize: number;
  /** AUDIT_QUEUE_LIMIT: records queued at most; while full, FHIR requests answer 503. */
  queueLimit: number;
  /** How journal documents become AuditEvents (audit-materializer.ts). */
  materialize: AuditMaterializeConfig;
}

export interface AuditMaterializeConfig {
  /** AUDIT_MATERIALIZE_STEP: journal records turned into AuditEvents per step (one bulk insert). */
  stepRecords: number;
  /** AUDIT_MATERIALIZE_LEASE_MS: how long a claimed journal document is left to its claimer before anyone may claim it again. */
  leaseMs: number;
  /** AUDIT_MATERIALIZE_POLL_MS: how often the journal is looked at for documents other servers wrote or left behind. */
  pollMs: number;
  /** AUDIT_MATERIALIZE_BUSY_PERCENT: event-loop use (by requests) above which the materializer waits; 100 never waits. */
  busyPercent: number;
  /** AUDIT_MATERIALIZE_MAX_LAG_MS: once the oldest journal document is this old, the materializer stops waiting for quiet. */
  maxLagMs: number;
}

export interface AccessConfig {
  /** RESULT_RELEASE_DELAYS: hours after issue before a result of a category reaches its patient. */
  releaseDelays: ReleaseDelays;
  /** ADOLESCENT_SENSITIVE_CLASSES: what a parent proxy does not see of a 12–17-year-old (all by default). */
  adolescentSensitiveClasses: string[] | undefined;
}

/** How the server sends mail (invitations, password resets, set-password links). */
export interface MailConfig {
  /** SMTP_URL, e.g. smtps://user:pass@smtp.example.org:465; unset: messages are written to outboxDir. */
  smtpUrl: string | undefined;
  /** MAIL_FROM: the sender of every message. */
  from: string;
  /** Where messages land as .eml files when no SMTP server is configured (DATA_DIR/outbox). */
  outboxDir: string;
}

export interface AuthConfig {
  /** AUTH_SECRET: key for the secrets stored encrypted; unset: generated into DATA_DIR/auth-secret. */
  secret: string | undefined;
  /** Lifetime of access tokens (at most an hour). */
  accessTokenTtlSeconds: number;
  /** Lifetime of offline_access refresh tokens. */
  refreshTokenDays: number;
  /** Sign-in sessions end after this long whatever the activity (absolute timeout). */
  sessionMaxHours: number;
  /** ... or after this long without activity (idle timeout). */
  sessionIdleMinutes: number;
  /** Clients' JWKS URLs may point at private or loopback addresses (off: SSRF protection). */
  allowPrivateJwksUrls: boolean;
}

/**
 * Bounds on the work one search request may cause, so that one request cannot stall the server
 * or the database for everyone. A request beyond one is refused with a 400 OperationOutcome
 * (code too-costly) naming the limit, except the two that depend on the data found (included
 * resources, :iterate rounds): there the page is cut short and says so. The README's
 * configuration table gives the reason for each default.
 */
export interface SearchLimits {
  /** OR-ed values of one parameter (`code=a,b,c` is three), after removing repeats. */
  maxValuesPerParameter: number;
  /** Parameters of one request (name=value pairs, after removing exact repeats). */
  maxParameters: number;
  /** _include and _revinclude specs together, after removing repeats. */
  maxIncludes: number;
  /** :iterate rounds after the first round of includes. */
  maxIterateRounds: number;
  /** Resources included in one page (beyond it, the page says it left some out). */
  maxIncludedResources: number;
  /** Reference hops of one parameter: each chain step and each _has counts one. */
  maxChainDepth: number;
  /** Resource types one chain step may search (a reference to any type fans out to many). */
  maxChainTargets: number;
  /** Database sub-queries (chain steps and _has) one request may run, over all searched types. */
  maxSubQueries: number;
  /** Resources one chain or _has sub-query may match. */
  maxChainMatches: number;
  /** _sort keys. */
  maxSortKeys: number;
  /** _elements entries. */
  maxElements: number;
  /** Database time of one search (every find and count gets what is left as maxTimeMS). */
  timeBudgetMs: number;
}

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function intFrom(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`Configuration: ${name} must be a non-negative integer, got "${value}"`);
  }
  return n;
}

function intBetween(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  const n = intFrom(name, value, fallback);
  if (n < min || n > max) throw new Error(`Configuration: ${name} must be between ${min} and ${max}, got "${value}"`);
  return n;
}

function colorFrom(name: string, value: string | undefined, fallback: string): string {
  if (value === undefined || value === '') return fallback;
  if (!/^#[0-9a-fA-F]{6}$/.test(value)) throw new Error(`Configuration: ${name} must be a colour like #0b6e99, got "${value}"`);
  return value;
}

function bytesFrom(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(value.trim());
  if (!m) throw new Error(`Configuration: ${name} must be a size like 5mb or 1048576, got "${value}"`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit === 'gb' ? 1024 ** 3 : unit === 'mb' ? 1024 ** 2 : unit === 'kb' ? 1024 : 1;
  return Number(m[1]) * factor;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`Configuration: ${name} must be one of ${allowed.join(', ')}, got "${value}"`);
}

function booleanFrom(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new Error(`Configuration: ${name} must be true or false, got "${value}"`);
}

/** The environment variable and default of each search limit (the README says why each default). */
export const SEARCH_LIMIT_SETTINGS: Record<keyof SearchLimits, { variable: string; fallback: number; min: number }> = {
  maxValuesPerParameter: { variable: 'SEARCH_MAX_VALUES', fallback: 100, min: 1 },
  maxParameters: { variable: 'SEARCH_MAX_PARAMETERS', fallback: 50, min: 1 },
  maxIncludes: { variable: 'SEARCH_MAX_INCLUDES', fallback: 20, min: 1 },
  maxIterateRounds: { variable: 'SEARCH_MAX_ITERATE_ROUNDS', fallback: 3, min: 0 },
  maxIncludedResources: { variable: 'SEARCH_MAX_INCLUDED', fallback: 1000, min: 1 },
  maxChainDepth: { variable: 'SEARCH_MAX_CHAIN_DEPTH', fallback: 3, min: 1 },
  maxChainTargets: { variable: 'SEARCH_MAX_CHAIN_TARGETS', fallback: 10, min: 1 },
  maxSubQueries: { variable: 'SEARCH_MAX_SUBQUERIES', fallback: 30, min: 1 },
  maxChainMatches: { variable: 'SEARCH_MAX_CHAIN_MATCHES', fallback: 10_000, min: 1 },
  maxSortKeys: { variable: 'SEARCH_MAX_SORT_KEYS', fallback: 5, min: 1 },
  maxElements: { variable: 'SEARCH_MAX_ELEMENTS', fallback: 100, min: 1 },
  timeBudgetMs: { variable: 'SEARCH_TIME_BUDGET_MS', fallback: 10_000, min: 1 },
};

function searchLimitsFrom(env: NodeJS.ProcessEnv): SearchLimits {
  const limits = {} as SearchLimits;
  for (const [key, { variable, fallback, min }] of Object.entries(SEARCH_LIMIT_SETTINGS)) {
    const n = intFrom(variable, env[variable], fallback);
    if (n < min) throw new Error(`Configuration: ${variable} must be at least ${min}, got "${env[variable]}"`);
    limits[key as keyof SearchLimits] = n;
  }
  return limits;
}

/** Reads the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const port = intFrom('PORT', env.PORT, 8080);
  const host = env.HOST || '0.0.0.0';
  const baseUrl = (env.BASE_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  return {
    port,
    host,
    baseUrl,
    mongoUri: env.MONGODB_URI || undefined,
    databaseName: env.MONGODB_DB || 'fhir',
    databaseWaitMs: intFrom('DATABASE_WAIT_MS', env.DATABASE_WAIT_MS, 1000),
    dataDir: path.resolve(rootDir, env.DATA_DIR || '.data'),
    maxBodyBytes: bytesFrom('MAX_BODY_SIZE', env.MAX_BODY_SIZE, 16 * 1024 * 1024),
    maxBundleEntries: intFrom('MAX_BUNDLE_ENTRIES', env.MAX_BUNDLE_ENTRIES, 5000),
    maxJsonDepth: intBetween('MAX_JSON_DEPTH', env.MAX_JSON_DEPTH, 64, 16, 99),
    logLevel: env.LOG_LEVEL || 'info',
    defaultPageSize: intFrom('DEFAULT_PAGE_SIZE', env.DEFAULT_PAGE_SIZE, 20),
    maxPageSize: intFrom('MAX_PAGE_SIZE', env.MAX_PAGE_SIZE, 1000),
    ferretDbCacheDir: env.FERRETDB_CACHE_DIR || undefined,
    transactionLeaseMs: intFrom('TRANSACTION_LEASE_MS', env.TRANSACTION_LEASE_MS, 15_000),
    loadDemoData: env.LOAD_DEMO_DATA !== 'false',
    requireProfiles: booleanFrom('REQUIRE_PROFILES', env.REQUIRE_PROFILES, false),
    portal: {
      sourceDir: path.resolve(rootDir, 'client'),
      distDir: path.resolve(rootDir, env.PORTAL_DIR || path.join('client', 'dist')),
      buildAtStart: booleanFrom('PORTAL_BUILD', env.PORTAL_BUILD, true),
    },
    profilesDir: path.resolve(rootDir, env.PROFILES_DIR || 'fhir-profiles'),
    searchKeyHints: oneOf('SEARCH_KEY_HINTS', env.SEARCH_KEY_HINTS, ['auto', 'on', 'off'] as const, 'auto'),
    searchLimits: searchLimitsFrom(env),
    rootDir,
    trustProxy: booleanFrom('TRUST_PROXY', env.TRUST_PROXY, false),
    access: {
      releaseDelays: parseReleaseDelays(env.RESULT_RELEASE_DELAYS || DEFAULT_RELEASE_DELAYS),
      adolescentSensitiveClasses: env.ADOLESCENT_SENSITIVE_CLASSES ? env.ADOLESCENT_SENSITIVE_CLASSES.split(',').map((c) => c.trim()).filter(Boolean) : undefined,
    },
    audit: {
      enabled: booleanFrom('AUDIT_ENABLED', env.AUDIT_ENABLED, true),
      flushMs: intBetween('AUDIT_FLUSH_MS', env.AUDIT_FLUSH_MS, 200, 10, 10_000),
      batchSize: intBetween('AUDIT_BATCH_SIZE', env.AUDIT_BATCH_SIZE, 500, 1, 5_000),
      queueLimit: intBetween('AUDIT_QUEUE_LIMIT', env.AUDIT_QUEUE_LIMIT, 20_000, 100, 1_000_000),
      materialize: {
        stepRecords: intBetween('AUDIT_MATERIALIZE_STEP', env.AUDIT_MATERIALIZE_STEP, 100, 1, 5_000),
        leaseMs: intBetween('AUDIT_MATERIALIZE_LEASE_MS', env.AUDIT_MATERIALIZE_LEASE_MS, 30_000, 1_000, 3_600_000),
        pollMs: intBetween('AUDIT_MATERIALIZE_POLL_MS', env.AUDIT_MATERIALIZE_POLL_MS, 2_000, 50, 600_000),
        busyPercent: intBetween('AUDIT_MATERIALIZE_BUSY_PERCENT', env.AUDIT_MATERIALIZE_BUSY_PERCENT, 30, 0, 100),
        maxLagMs: intBetween('AUDIT_MATERIALIZE_MAX_LAG_MS', env.AUDIT_MATERIALIZE_MAX_LAG_MS, 10_000, 0, 3_600_000),
      },
    },
    bulkExport: {
      enabled: booleanFrom('BULK_EXPORT_ENABLED', env.BULK_EXPORT_ENABLED, true),
      worker: booleanFrom('BULK_EXPORT_WORKER', env.BULK_EXPORT_WORKER, true),
      fileStore: oneOf('BULK_FILE_STORE', env.BULK_FILE_STORE, ['gridfs', 'directory'] as const, 'gridfs'),
      fileDir: path.resolve(rootDir, env.BULK_FILE_DIR || path.join(env.DATA_DIR || '.data', 'bulk-files')),
      fileKeepMs: intBetween('BULK_FILE_HOURS', env.BULK_FILE_HOURS, 24, 1, 24 * 30) * 3_600_000,
      fileMaxBytes: bytesFrom('BULK_FILE_MAX_BYTES', env.BULK_FILE_MAX_BYTES, 256 * 1024 * 1024),
      pageSize: intBetween('BULK_PAGE_SIZE', env.BULK_PAGE_SIZE, 1000, 1, 1000),
      maxJobsPerClient: intBetween('BULK_MAX_JOBS_PER_CLIENT', env.BULK_MAX_JOBS_PER_CLIENT, 2, 1, 100),
      leaseMs: intBetween('BULK_LEASE_MS', env.BULK_LEASE_MS, 30_000, 1_000, 600_000),
      workerPollMs: intBetween('BULK_WORKER_POLL_MS', env.BULK_WORKER_POLL_MS, 2_000, 50, 60_000),
      retryAfterSeconds: intBetween('BULK_RETRY_AFTER_SECONDS', env.BULK_RETRY_AFTER_SECONDS, 2, 1, 3600),
      minPollMs: intBetween('BULK_MIN_POLL_MS', env.BULK_MIN_POLL_MS, 500, 0, 60_000),
    },
    clinic: {
      name: env.CLINIC_NAME || 'Riverbend Health',
      color: colorFrom('CLINIC_COLOR', env.CLINIC_COLOR, '#0b6e99'),
    },
    mail: {
      smtpUrl: env.SMTP_URL || undefined,
      from: env.MAIL_FROM || `${env.CLINIC_NAME || 'Riverbend Health'} <no-reply@${new URL(baseUrl).hostname}>`,
      outboxDir: path.join(path.resolve(rootDir, env.DATA_DIR || '.data'), 'outbox'),
    },
    auth: {
      secret: env.AUTH_SECRET || undefined,
      accessTokenTtlSeconds: intBetween('ACCESS_TOKEN_TTL', env.ACCESS_TOKEN_TTL, 3600, 60, 3600),
      refreshTokenDays: intBetween('REFRESH_TOKEN_DAYS', env.REFRESH_TOKEN_DAYS, 90, 1, 365),
      sessionMaxHours: intBetween('SESSION_MAX_HOURS', env.SESSION_MAX_HOURS, 12, 1, 24 * 30),
      sessionIdleMinutes: intBetween('SESSION_IDLE_MINUTES', env.SESSION_IDLE_MINUTES, 30, 1, 24 * 60),
      allowPrivateJwksUrls: booleanFrom('JWKS_ALLOW_PRIVATE_ADDRESSES', env.JWKS_ALLOW_PRIVATE_ADDRESSES, false),
    },
  };
}
