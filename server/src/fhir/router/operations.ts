// Named operations ($name) the router dispatches, with the levels they are offered at.
// Each operation's code lives in fhir/ops; the CapabilityStatement is generated from this table.
import type { FhirServices } from './services.ts';
import type { AccessContext, FhirRequest, FhirResponse } from '../types.ts';
import { validateOperation } from '../ops/validate-operation.ts';
import { EVERYTHING_DEFINITION, patientEverything } from '../ops/patient-everything.ts';
import { RELEASE_DEFINITION, releaseResult } from '../ops/result-release-operation.ts';

export type OperationLevel = 'system' | 'type' | 'instance';

export interface OperationDefinitionEntry {
  name: string;
  definition: string;
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
];

/** The operations offered on a resource type (type or instance level). */
export const operationsOf = (type: string): OperationDefinitionEntry[] =>
  OPERATIONS.filter((op) => (op.level.includes('type') || op.level.includes('instance')) && (!op.types || op.types.includes(type)));
