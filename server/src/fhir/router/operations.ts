// Named operations ($name) the router dispatches, with the levels they are offered at.
// Each operation's code lives in fhir/ops; the CapabilityStatement is generated from this table.
import type { FhirServices } from './services.ts';
import type { AccessContext, FhirRequest, FhirResponse } from '../types.ts';
import { validateOperation } from '../ops/validate-operation.ts';
import { EVERYTHING_DEFINITION, patientEverything } from '../ops/patient-everything.ts';
import { RELEASE_DEFINITION, releaseResult } from '../ops/result-release-operation.ts';
import { EXPORT_DEFINITION, exportKickOff, GROUP_EXPORT_DEFINITION, PATIENT_EXPORT_DEFINITION } from '../ops/bulk-export-kickoff.ts';
import { badRequest } from '../outcome.ts';

export type OperationLevel = 'system' | 'type' | 'instance';

export interface OperationDefinitionEntry {
  name: string;
  definition: string;
  /** Another definition on some types (Patient/$export is patient-export). */
  definitionOn?: Record<string, string>;
  /** Operations that are there only when a part of the server is (bulk export). */
  enabled?(services: FhirServices): boolean;
  level: OperationLevel[];
  /** Resource types it is offered on (type and instance level); all when absent. */
  types?: string[];
  methods: Array<FhirRequest['method']>;
  run(
    services: FhirServices,
    req: FhirRequest,
    ctx: AccessContext,
    target: { type?: string; id?: string },
  ): Promise<FhirResponse>;
}

export const OPERATIONS: OperationDefinitionEntry[] = [
  {
    name: 'validate',
    definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    level: ['type', 'instance'],
    methods: ['POST'],
    run: validateOperation,
  },
  {
    name: 'everything',
    definition: EVERYTHING_DEFINITION,
    level: ['instance'],
    types: ['Patient'],
    methods: ['GET', 'POST'],
    run: patientEverything,
  },
  {
    name: 'release',
    definition: RELEASE_DEFINITION,
    level: ['instance'],
    types: ['Observation', 'DiagnosticReport'],
    methods: ['POST'],
    run: releaseResult,
  },
  {
    // System level, Patient (type level: every patient) and Group/{id} (its members).
    name: 'export',
    definition: EXPORT_DEFINITION,
    definitionOn: { Patient: PATIENT_EXPORT_DEFINITION, Group: GROUP_EXPORT_DEFINITION },
    enabled: (services) => services.bulk !== undefined,
    level: ['system', 'type', 'instance'],
    types: ['Patient', 'Group'],
    methods: ['GET', 'POST'],
    run: (services, req, ctx, target) => {
      if (target.type === 'Patient' && target.id !== undefined) throw badRequest('$export is offered on Patient (every patient) and on Group/{id}, not on one Patient');
      if (target.type === 'Group' && target.id === undefined) throw badRequest('$export is offered on a Group instance (Group/{id}/$export), not on the Group type');
      return exportKickOff(services, req, ctx, target);
    },
  },
];

/** The operations offered on a resource type (type or instance level). */
export const operationsOf = (type: string, services?: FhirServices): OperationDefinitionEntry[] =>
  OPERATIONS.filter(
    (op) => (op.level.includes('type') || op.level.includes('instance')) && (!op.types || op.types.includes(type)) && (!services || !op.enabled || op.enabled(services)),
  );
