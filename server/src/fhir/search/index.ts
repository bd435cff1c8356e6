// Public entry points of fhir/search.
export { createResourceIndexer, type IndexerOptions } from './indexer.ts';
export { ensureSearchIndexes, ensureAllSearchIndexes, SEARCH_INDEXES } from './search-indexes.ts';
export { reindex } from './reindex-command.ts';
export { searchParamRegistry, SearchParamRegistry } from './registry.ts';
export { parseSearchRequest } from './query/parse-search.ts';
export type { SearchRequest } from './query/search-request.ts';
export { runSearch, compileFilter, type SearchEnvironment, type SearchResult } from './execute/run-search.ts';
export { patientCompartmentParams } from './compartment.ts';
