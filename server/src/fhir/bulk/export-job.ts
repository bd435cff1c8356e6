// What a Bulk Data export job is, as stored: the request as the kick-off understood it, who asked
// (the client and the scopes its token had), the job's state and lease, and its progress, which
// is recorded after every finished page so that another instance can resume it exactly.
// See: https://hl7.org/fhir/uv/bulkdata/export.html
import type { OperationOutcome } from 'fhir/r4';

export type ExportLevel = 'system' | 'patient' | 'group';
export type ExportStatus = 'queued' | 'running' | 'completed' | 'failed';

/** The export's parameters after validation at kick-off. */
export interface ExportParameters {
  /** Resource types to export, in the order they are written. */
  types: string[];
  /** _since: resources changed after this instant only. */
  since?: Date;
  /** _until: resources changed up to this instant only (never later than transactionTime). */
  until?: Date;
  /** _elements: names for every type ('name') and for one type ('Type.name'). */
  elements?: string[];
  /**
   * _typeFilter: per type, search queries (OR-ed) as query strings (FerretDB 1.x stores no arrays
   * of arrays, so not as name/value pairs).
   */
  typeFilters?: Record<string, string[]>;
  /**
   * Patient and Group level: the directory types (Practitioner, Organization…) whose resources the
   * exported records point to are exported too.
   */
  directoryTypes?: string[];
  /** Patient and Group level: the patients whose compartments are exported ('any': every patient). */
  patients?: string[] | 'any';
}

/** One piece of an output file: a page (or several) of NDJSON, stored as one object. */
export interface ExportSegment {
  id: string;
  bytes: number;
}

/** One file of the manifest: NDJSON of one type, made of segments in order. */
export interface ExportOutput {
  type: string;
  /** An error file (OperationOutcome lines) rather than exported resources. */
  error?: boolean;
  /** A file of deleted resources (transaction Bundles with DELETE entries), for a _since export. */
  deleted?: boolean;
  count: number;
  bytes: number;
  segments: ExportSegment[];
}

export interface ExportProgress {
  /** Index into parameters.types of the type being exported; types.length: the deleted resources of a _since export. */
  step: number;
  /** The search position of the step's next page (absent: its first page). */
  cursor?: string;
  /** On FerretDB: the id bounds of the step's type (export-ranges.ts) and the range being read. */
  bounds?: string[];
  range?: number;
  /** Resources written so far. */
  exported: number;
  outputs: ExportOutput[];
}

export interface ExportJobDocument {
  /** Random and unguessable: it is part of the status and file URLs. */
  _id: string;
  clientId: string;
  /** The scopes of the kick-off's token: the job runs with what that token was allowed. */
  scope: string;
  level: ExportLevel;
  /** Group level: the Group's id. */
  group?: string;
  /** The kick-off URL, as the manifest repeats it. */
  request: string;
  parameters: ExportParameters;
  /** The instant the export is as of: nothing changed after it is included. */
  transactionTime: Date;
  status: ExportStatus;
  createdAt: Date;
  /** The worker holding the job (one lease per claim) and until when; 1970 when none. */
  leaseOwner?: string;
  leaseUntil: Date;
  /** Claims so far: a job that keeps failing is given up after a few. */
  attempts: number;
  progress: ExportProgress;
  /** Last status request, for the 429 of a client polling far too often. */
  polledAt?: Date;
  completedAt?: Date;
  /** When the files (and the job) are deleted; also the manifest's Expires. */
  expiresAt?: Date;
  /** A failed job's answer. */
  failure?: { status: number; outcome: OperationOutcome };
}

export const EXPORT_JOBS_COLLECTION = 'bulk_export_jobs';
