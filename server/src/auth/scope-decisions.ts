// What a person decided on the consent page, kept with the grant so that the same request later
// gets the same answer without asking again ("remembered grants"): for each scope the app asked
// for, the scopes granted in its place: itself, nothing (declined), or narrower granular scopes
// (patient/Observation.rs → patient/Observation.rs?category=…|laboratory).
import type Provider from 'oidc-provider';
import { OTHER_SCOPES, parseResourceScope } from '../access/smart-scopes.ts';
import type { GrantContext, GrantContexts } from './grant-contexts.ts';

/** requested scope → the scopes granted for it. */
export type ScopeDecision = Record<string, string[]>;

export function decisionFromStored(stored: Array<{ requested: string; granted: string[] }>): ScopeDecision {
  return Object.fromEntries(stored.map((d) => [d.requested, d.granted]));
}

/** The scopes granted for a request: what the decision says for each requested scope. */
export function grantedFor(decision: ScopeDecision, requested: string[]): string[] | undefined {
  const out = new Set<string>();
  for (const scope of requested) {
    const granted = decision[scope];
    if (!granted) return undefined; // a scope the person was never asked about
    for (const g of granted) out.add(g);
  }
  return [...out];
}

/**
 * Creates and saves an oidc-provider Grant for a decision and its launch context: OIDC and launch
 * scopes as OIDC scopes, SMART resource scopes as scopes of the FHIR server (the only resource).
 */
export async function saveGrant(
  provider: Provider,
  grants: GrantContexts,
  fhirBase: string,
  context: GrantContext,
  granted: string[],
  decision: ScopeDecision,
): Promise<string> {
  const grant = new provider.Grant({ accountId: context.accountId, clientId: context.clientId });
  const oidc = granted.filter((s) => OTHER_SCOPES.has(s));
  const resource = granted.filter((s) => parseResourceScope(s) !== undefined);
  if (oidc.length > 0) grant.addOIDCScope(oidc.join(' '));
  if (resource.length > 0) grant.addResourceScope(fhirBase, resource.join(' '));
  const grantId = await grant.save();
  await grants.save(grantId, { ...context, decision: Object.entries(decision).map(([requested, g]) => ({ requested, granted: g })) });
  return grantId;
}

export interface RememberedGrant {
  grantId: string;
  /** The scopes to grant for this request (replaces the request's scope). */
  scope: string;
}

/**
 * A grant the person made earlier for this app and the same patient whose decision answers every
 * scope of this request. For another encounter (a new EHR launch), a grant with the same decision
 * is made for the new context without asking again.
 */
export async function findRememberedGrant(
  provider: Provider,
  grants: GrantContexts,
  fhirBase: string,
  want: { context: GrantContext; requested: string[] },
): Promise<RememberedGrant | undefined> {
  const { context } = want;
  const candidates = (await grants.ofAccount(context.accountId, context.clientId))
    .filter((g) => g.patient === context.patient && g.decision)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  for (const candidate of candidates) {
    const decision = decisionFromStored(candidate.decision!);
    const granted = grantedFor(decision, want.requested);
    if (!granted || granted.length === 0) continue;
    const existing = await provider.Grant.find(candidate.grantId);
    if (!existing) {
      await grants.remove(candidate.grantId); // the grant itself expired or was revoked
      continue;
    }
    let grantId = candidate.grantId;
    if (candidate.encounter !== context.encounter || candidate.needPatientBanner !== context.needPatientBanner) {
      grantId = await saveGrant(provider, grants, fhirBase, context, granted, decision);
    }
    return { grantId, scope: granted.join(' ') };
  }
  return undefined;
}
