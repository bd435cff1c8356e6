// What the interactions need from the layers below them, passed in once when the router is built.
import type { Document } from 'mongodb';
import type { OperationOutcomeIssue, FhirResource as Resource } from 'fhir/r4';
import type { ServerConfig } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { AccessPolicy } from '../../access/access-policy.ts';
import type { AuditRecorder } from '../../audit/audit-record.ts';
import type { ConditionalClaims } from '../repo/conditional-claims.ts';
import type { ResourceRepository } from '../repo/resource-repository.ts';
import type { TransactionJournal } from '../repo/transaction-journal.ts';
import type { AccessContext, FhirInteraction, FhirRequest, FhirResponse, StoredResource } from '../types.ts';
import type { PreparedSearch } from './search.ts';
import type { BulkExport } from '../bulk/bulk-export.ts';

export interface ResourceValidation {
  /** All issues (errors and warnings) for a resource, also against extra profiles; nothing thrown. */
  validate(resource: Resource, profiles?: string[]): OperationOutcomeIssue[];
  /** Throws an OperationOutcomeError (400 structure, 422 profile) when the resource is invalid. */
  assertValid(resource: Resource): void;
}

/** Resolves search criteria (conditional create/update/delete, conditional references). */
export type ConditionalMatcher = (
  type: string,
  params: Array<[string, string]>,
  ctx: AccessContext,
  limit: number,
) => Promise<StoredResource[]>;

export interface FhirServices {
  config: ServerConfig;
  log: Logger;
  repo: ResourceRepository;
  journal: TransactionJournal;
  /** Who may do what to which resource (access/): every interaction asks it. */
  access: AccessPolicy;
  /** The audit trail (audit/): every interaction is recorded through the router's dispatch. */
  audit: AuditRecorder;
  /** Makes conditional creates atomic (one resource per criteria, however many race). */
  conditionalClaims: ConditionalClaims;
  validation: ResourceValidation;
  findMatches: ConditionalMatcher;
  /** Search interactions, provided by fhir/search; absent ones answer "not supported". */
  search?: {
    type: FhirInteraction;
    system: FhirInteraction;
    compartment: FhirInteraction;
    /** A search an operation prepared (several types of one compartment, includes). */
    prepared(req: FhirRequest, ctx: AccessContext, search: PreparedSearch): Promise<FhirResponse>;
    /**
     * Search parameters of a type as one database condition (bulk export's _typeFilter); chains
     * and _has in them see only what the caller may see.
     */
    compileConditions(type: string, params: Array<[string, string]>, ctx?: AccessContext): Promise<Document>;
    /** True when the caller may search the type at all. */
    searchable(type: string, ctx: AccessContext): boolean;
    /** Search parameters per type, for the CapabilityStatement. */
    parametersOf(type: string): Array<{ name: string; type: string; definition?: string; documentation?: string }>;
  };
  /** Bulk Data export (fhir/bulk/): its jobs, files and workers; absent when it is off. */
  bulk?: BulkExport;
  /** Profiles the server validates against, per resource type, for the CapabilityStatement. */
  supportedProfiles?(type: string): string[];
}
