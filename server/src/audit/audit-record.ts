// What the audit trail queues: one compact record per thing that happened, built on the request
// path with what is already at hand (no reads, no formatting), and turned into AuditEvent
// resources later, off the request path (audit-event-builder.ts). Records never hold clinical
// content, query values, tokens or passwords: references, codes, names of parameters, outcomes.

/** Who acted: a person through an app, a backend service, or the server itself. */
export interface AuditActor {
  /** The person's FHIR resource (Patient/…, RelatedPerson/…, Practitioner/…), when known. */
  fhirUser?: string;
  /** Their account id (admins may have no FHIR resource). */
  accountId?: string;
  /** The OAuth client (the app, or the backend service itself). */
  clientId?: string;
  /** A backend service acting on its own (no person). */
  system?: boolean;
  /** The client's network address. */
  address?: string;
}

/** The FHIR RESTful interaction codes BALP records as subtype (http://hl7.org/fhir/restful-interaction). */
export type RestInteraction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'create'
  | 'search-type'
  | 'search-system'
  | 'search'
  | 'batch'
  | 'transaction'
  | 'capabilities'
  | 'operation';

/** A FHIR interaction (read, search, write, history, operation, transaction). */
export interface RestAuditRecord {
  kind: 'rest';
  at: Date;
  actor: AuditActor;
  requestId: string;
  interaction: RestInteraction;
  /** The operation's name without `$`, for interaction 'operation'. */
  operation?: string;
  /**
   * The request without values: method, path and the names of its parameters
   * ("GET Observation?category&patient&_sort"). Ids in the path are kept: they name what was
   * touched, as the entities do.
   */
  request: string;
  resources: Array<{ reference: string; patients: readonly string[] }>;
  patients: readonly string[];
  /** HTTP status of the answer. */
  status: number;
}

/** The authorization server: access tokens issued, refused and revoked. */
export interface TokenAuditRecord {
  kind: 'token';
  at: Date;
  actor: AuditActor;
  event: 'token-issued' | 'token-refused' | 'token-revoked';
  /** The grant type (authorization_code, refresh_token, client_credentials). */
  grantType?: string;
  /** Scopes granted (names of permissions, not data). */
  scope?: string;
  /** The patient in the token's launch context: the record the app was given access to. */
  patient?: string;
  /** OAuth error code of a refusal (invalid_client, invalid_grant, …). */
  error?: string;
}

/**
 * Sign-ins and account changes, as the accounts' SecurityEvents record them
 * (server/src/auth/accounts/security-events.ts): see account-events.ts.
 */
/** What an account event says (auth/accounts' SecurityEvent is these and its type). */
export interface AccountEventFacts {
  /** The account concerned (absent for a failed sign-in with an unknown username). */
  accountId?: string;
  /** Who acted, when not the account itself (an admin, a patient inviting a proxy). */
  actorAccountId?: string;
  address?: string;
  /** How (password, totp, passkey, …), never the secret. */
  method?: string;
  /** Why it failed, in a few words. */
  reason?: string;
  clientId?: string;
  /** The FHIR resource concerned (Patient/…, RelatedPerson/…). */
  subject?: string;
}

export interface AccountAuditRecord extends AccountEventFacts {
  kind: 'account';
  at: Date;
  /** sign-in, sign-in-failed, sign-out, locked, password-changed, app-revoked, … */
  event: string;
}

/** Records the trail could not keep (its queue was full while the database refused writes). */
export interface GapAuditRecord {
  kind: 'gap';
  at: Date;
  lost: number;
  from: Date;
  to: Date;
}

export type AuditRecord = RestAuditRecord | TokenAuditRecord | AccountAuditRecord | GapAuditRecord;

/** Where records go: the trail (audit-trail.ts), or nothing when auditing is off. */
export interface AuditRecorder {
  record(record: AuditRecord): void;
  /**
   * False while the trail cannot take more records (its queue is full because the database
   * refuses writes): FHIR interactions are then refused, so that no access goes unrecorded.
   */
  accepting(): boolean;
  /**
   * Resolves once everything recorded before the call can be read as AuditEvents (the journal is
   * materialized up to now): readers of the trail call it before reading.
   */
  settle(): Promise<void>;
}
