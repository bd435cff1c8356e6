// The CapabilityStatement, generated from what this router really implements.
// See: https://hl7.org/fhir/R4/capabilitystatement.html and https://hl7.org/fhir/R4/http.html#capabilities
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
} from 'fhir/r4';
import { r4ResourceTypes } from '../definitions.ts';
import { searchLimitsDocumentation } from '../search/query/search-limits.ts';
import type { FhirServices } from './services.ts';
import { OPERATIONS } from './operations.ts';

const SOFTWARE_VERSION = '0.1.0';

export function capabilityStatement(services: FhirServices, startedAt: Date): CapabilityStatement {
  const search = services.search;
  const conditional = Boolean(search);
  const resources: CapabilityStatementRestResource[] = [...r4ResourceTypes()].sort().map((type) => {
    const interaction: CapabilityStatementRestResource['interaction'] = [
      { code: 'read' },
      { code: 'vread' },
      { code: 'update' },
      { code: 'patch' },
      { code: 'delete' },
      { code: 'history-instance' },
      { code: 'history-type' },
      { code: 'create' },
    ];
    if (search) interaction.push({ code: 'search-type' });
    const resource: CapabilityStatementRestResource = {
      type,
      interaction,
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: conditional,
      conditionalRead: 'full-support',
      conditionalUpdate: conditional,
      conditionalDelete: conditional ? 'single' : 'not-supported',
      referencePolicy: ['literal', 'local'],
      operation: OPERATIONS.filter((op) => op.level.includes('type') || op.level.includes('instance')).map((op) => ({
        name: op.name,
        definition: op.definition,
      })),
    };
    const profiles = services.supportedProfiles?.(type) ?? [];
    if (profiles.length) resource.supportedProfile = profiles;
    if (search) {
      const params: CapabilityStatementRestResourceSearchParam[] = search.parametersOf(type).map((p) => ({
        name: p.name,
        type: p.type as CapabilityStatementRestResourceSearchParam['type'],
        ...(p.definition ? { definition: p.definition } : {}),
        ...(p.documentation ? { documentation: p.documentation } : {}),
      }));
      if (params.length) resource.searchParam = params;
    }
    return resource;
  });
  const systemInteractions: Array<{ code: 'transaction' | 'batch' | 'history-system' | 'search-system' }> = [
    { code: 'transaction' },
    { code: 'batch' },
    { code: 'history-system' },
  ];
  if (search) systemInteractions.push({ code: 'search-system' });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: startedAt.toISOString(),
    kind: 'instance',
    software: { name: 'health-records-server', version: SOFTWARE_VERSION },
    implementation: { description: 'Health-records FHIR R4 server', url: `${services.config.baseUrl}/fhir` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        ...(search ? { documentation: searchLimitsDocumentation(services.config.searchLimits) } : {}),
        resource: resources,
        interaction: systemInteractions,
        operation: OPERATIONS.filter((op) => op.level.includes('system')).map((op) => ({ name: op.name, definition: op.definition })),
      },
    ],
  };
}
