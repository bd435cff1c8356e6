// How a resource is kept in MongoDB. One collection per resource type holds the current version
// of each resource (named after the type, e.g. "Observation"); one "history" collection holds
// every version of every resource, including deletion tombstones.
import type { FhirResource as Resource } from 'fhir/r4';

/** Extra, derived fields stored beside a resource so it can be found without reading it. */
export interface ResourceIndexFields {
  /**
   * Partition key: the id of the (first) Patient whose compartment holds this resource; for a
   * Patient, its own id. Absent for resources in no patient's compartment.
   * See: https://hl7.org/fhir/R4/compartmentdefinition-patient.html
   */
  patient?: string;
  /** Every patient compartment the resource is in, when there are several (else absent). */
  patients?: string[];
  /** Search index values, owned by fhir/search (see its README section in the code). */
  sp?: Record<string, unknown>;
  /**
   * Results (Observation, DiagnosticReport): when the patient may see it (access/result-release.ts);
   * absent until released by hand.
   */
  rel?: Date;
}

/** Computes the index fields of a resource. Pure and deterministic: reindex relies on it. */
export type ResourceIndexer = (resource: Resource) => ResourceIndexFields;

/** Current version of one resource, in the collection named after its type. */
export interface CurrentDocument extends ResourceIndexFields {
  _id: string;
  /** versionId as a number (meta.versionId is its decimal string). */
  vid: number;
  /** meta.lastUpdated as a Date. */
  ts: Date;
  resource: Resource;
  /**
   * Id of a transaction journal. Written only by earlier versions of the server, whose
   * transactions wrote current documents before their commit; rollback of such a journal uses it.
   */
  tx?: string;
}

/** One version of one resource, in the "history" collection. */
export interface HistoryDocument {
  /** `${type}/${id}/${vid}` */
  _id: string;
  type: string;
  id: string;
  vid: number;
  ts: Date;
  /** The HTTP method that made this version (POST, PUT, PATCH, DELETE). */
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absent on a deletion tombstone. */
  resource?: Resource;
  patient?: string;
  /** Id of the transaction that wrote this version: hidden from readers while it runs. */
  tx?: string;
}

export const HISTORY_COLLECTION = 'history';

/**
 * Types whose resources are written once and never changed: the audit trail. Their current
 * document is their only version, so no history entry is kept beside it (one AuditEvent per
 * access: a copy of each would double the largest collection and the cost of every access).
 * vread and instance history answer from the current document, type history pages over the
 * current collection, and the system history leaves them out.
 */
export const UNVERSIONED_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);
export const JOURNAL_COLLECTION = 'journal';

export const historyId = (type: string, id: string, vid: number) => `${type}/${id}/${vid}`;
