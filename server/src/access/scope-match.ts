// Which of a token's scopes allow an action on a resource type.
// See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
import type { ResourceScope, ScopeAction, ScopeContext, SmartGrant } from './smart-scopes.ts';

/** FHIR interactions in scope terms. */
export type AccessAction = 'read' | 'search' | 'create' | 'update' | 'delete';

const ACTION_LETTER: Record<AccessAction, ScopeAction> = { read: 'r', search: 's', create: 'c', update: 'u', delete: 'd' };

/** The scopes of `grant`, in one of `contexts`, that allow `action` on `type`. */
export function matchingScopes(grant: SmartGrant | undefined, type: string, action: AccessAction, contexts: readonly ScopeContext[]): ResourceScope[] {
  if (!grant) return [];
  const letter = ACTION_LETTER[action];
  return grant.resources.filter(
    (s) => contexts.includes(s.context) && (s.resourceType === '*' || s.resourceType === type) && s.actions.has(letter),
  );
}

/**
 * The restriction the matching scopes put on what the action reaches: none when one of them is
 * unrestricted; otherwise each scope's query (v2 granular scope), any of which may hold.
 */
export function scopeQueries(scopes: ResourceScope[]): Array<Array<[string, string]>> | 'unrestricted' {
  if (scopes.some((s) => !s.query)) return 'unrestricted';
  return scopes.map((s) => s.query!);
}
