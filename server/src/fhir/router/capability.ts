// The CapabilityStatement, generated from what this router really implements.
// See: https://hl7.org/fhir/R4/capabilitystatement.html and https://hl7.org/fhir/R4/http.html#capabilities
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
} from 'fhir/r4';
import { r4ResourceTypes } from '../definitions.ts';
import { searchParamRegistry } from '../search/index.ts';
import { searchLimitsDocumentation } from '../search/query/search-limits.ts';
import type { FhirServices } from './services.ts';
import { authEndpoints } from '../../auth/endpoints.ts';
import type { CapabilityStatementRestSecurity } from 'fhir/r4';

/**
 * SMART on FHIR: the API is protected by OAuth 2.0 bearer tokens from this server's authorization
 * server, whose endpoints the oauth-uris extension names. See:
 * https://hl7.org/fhir/smart-app-launch/conformance.html#using-cors and the SMART App Launch IG
 * (capability statement "security" extension).
 */
function smartSecurity(baseUrl: string): CapabilityStatementRestSecurity {
  const endpoints = authEndpoints(baseUrl);
  return {
    cors: true,
    service: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }],
        text: 'OAuth 2.0 bearer tokens (SMART App Launch and Backend Services)',
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'token', valueUri: endpoints.token },
          { url: 'authorize', valueUri: endpoints.authorize },
          { url: 'introspect', valueUri: endpoints.introspect },
          { url: 'revoke', valueUri: endpoints.revoke },
          { url: 'manage', valueUri: endpoints.manage },
        ],
      },
    ],
    description: 'Every request except this CapabilityStatement needs an access token (Authorization: Bearer). See .well-known/smart-configuration.',
  };
}
import { OPERATIONS, operationsOf } from './operations.ts';

const SOFTWARE_VERSION = '0.1.0';

type ParametersOf = NonNullable<FhirServices['search']>['parametersOf'];

interface IncludeDeclarations {
  byType: Map<string, { include: string[]; revinclude: string[] }>;
  /** Source:param of parameters that may reference a resource of any type. */
  anyTarget: string[];
}

/**
 * _include and _revinclude values per resource type, from the reference parameters search answers.
 * _include takes Type:param and * (every reference parameter, execute/includes.ts); _revinclude
 * takes Source:param for each parameter of another type that may point here (its targets, from
 * the parameter's definition); a source of * is refused by search, so it is not declared.
 * Eighty parameters may reference any type (Provenance:target, List:item, the knowledge
 * artifacts' depends-on...): listed under every type they would add 335 KB to the statement
 * (11,600 of its 12,600 revinclude values), so they are named once, in rest.documentation.
 * See: https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.searchInclude
 */
function includeDeclarations(types: string[], parametersOf: ParametersOf): IncludeDeclarations {
  const registry = searchParamRegistry();
  const byType = new Map(types.map((t) => [t, { include: [] as string[], revinclude: [] as string[] }]));
  const anyTarget: string[] = [];
  for (const source of types) {
    for (const p of parametersOf(source)) {
      if (p.type !== 'reference') continue;
      const value = `${source}:${p.name}`;
      byType.get(source)!.include.push(value);
      const targets = new Set(registry.get(source, p.name)?.targets ?? []);
      // Reference(Any) lists every type but Parameters, which is never stored.
      if (types.every((t) => t === 'Parameters' || targets.has(t))) {
        anyTarget.push(value);
        continue;
      }
      for (const target of targets) byType.get(target)?.revinclude.push(value);
    }
  }
  for (const decl of byType.values()) if (decl.include.length > 0) decl.include.unshift('*');
  return { byType, anyTarget };
}

export function capabilityStatement(services: FhirServices, startedAt: Date): CapabilityStatement {
  const search = services.search;
  const conditional = Boolean(search);
  const types = [...r4ResourceTypes()].sort();
  const includes = search ? includeDeclarations(types, search.parametersOf) : undefined;
  const resources: CapabilityStatementRestResource[] = types.map((type) => {
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
      operation: operationsOf(type, services).map((op) => ({
        name: op.name,
        definition: op.definitionOn?.[type] ?? op.definition,
      })),
    };
    const profiles = services.supportedProfiles?.(type) ?? [];
    if (profiles.length) resource.supportedProfile = profiles;
    const declared = includes?.byType.get(type);
    if (declared?.include.length) resource.searchInclude = declared.include;
    if (declared?.revinclude.length) resource.searchRevInclude = declared.revinclude;
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
    // Bulk Data export at system, Patient and Group level. See: https://hl7.org/fhir/uv/bulkdata/CapabilityStatement-bulk-data.html
    ...(services.bulk ? { instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'] } : {}),
    software: { name: 'health-records-server', version: SOFTWARE_VERSION },
    implementation: { description: 'Health-records FHIR R4 server', url: `${services.config.baseUrl}/fhir` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        security: smartSecurity(services.config.baseUrl),
        documentation: [
          ...(search ? [searchLimitsDocumentation(services.config.searchLimits)] : []),
          ...(includes?.anyTarget.length
            ? [
                'Besides the searchRevInclude of each type, _revinclude takes these parameters, which may reference ' +
                  `a resource of any type, for every type: ${includes.anyTarget.join(', ')}.`,
              ]
            : []),
        ].join('\n\n') || undefined,
        resource: resources,
        interaction: systemInteractions,
        operation: OPERATIONS.filter((op) => op.level.includes('system') && (!op.enabled || op.enabled(services))).map((op) => ({ name: op.name, definition: op.definition })),
      },
    ],
  };
}
