// The one ResourceIndexer of the server and its tools (reindex): search index values and partition
// key (fhir/search), plus the release time of results (access/result-release.ts).
import type { FhirResource } from 'fhir/r4';
import type { ServerConfig } from './config.ts';
import { releaseTime } from './access/result-release.ts';
import type { ResourceIndexer } from './fhir/repo/stored-document.ts';
import { createResourceIndexer } from './fhir/search/indexer.ts';

export function createDocumentIndexer(config: ServerConfig): ResourceIndexer {
  return createResourceIndexer({
    baseUrl: `${config.baseUrl}/fhir`,
    extra: (resource) => ({ rel: releaseTime(resource as FhirResource, config.access.releaseDelays) }),
  });
}
