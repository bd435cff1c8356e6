// The consent step of an app authorization: whose record (the patient picker, for people who act
// for several patients, and a search for staff), then what the app asks for in plain words, where
// the person may grant less: leave out any part, narrow lab results and problems to categories, or
// refuse to stay connected (offline_access). The decision becomes a Grant with its launch context
// (scope-decisions.ts); the same request later is answered from it without asking again.
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import { OTHER_SCOPES, parseResourceScope } from '../../access/smart-scopes.ts';
import type { AccountDirectory, AccountInfo } from '../account-directory.ts';
import { revokeGrant } from '../accounts/access-ending.ts';
import type { AccountDocument } from '../accounts/account-store.ts';
import { nameOf } from '../accounts/account-services.ts';
import type { GrantContext, GrantContexts } from '../grant-contexts.ts';
import type { LaunchContexts } from '../launch-contexts.ts';
import { resolveContext, type PatientChoice } from '../launch-resolution.ts';
import { hashId } from '../oidc-adapter.ts';
import { findRememberedGrant, grantedFor, saveGrant, type ScopeDecision } from '../scope-decisions.ts';
import { html } from './html.ts';
import { field, hiddenFields, message } from './form-parts.ts';
import type { PageKit } from './page-kit.ts';
import { CATEGORIES, describeOtherScope, describeScope } from './scope-words.ts';
import { interactionFlow, type InteractionDetails } from './sign-in-flow.ts';

export interface ConsentDeps {
  kit: PageKit;
  provider: () => Provider;
  grants: GrantContexts;
  launches: LaunchContexts;
  fhirBase: string;
  accountInfo(accountId: string): Promise<AccountInfo | undefined>;
  accounts: AccountDirectory;
}

const requestedOf = (details: InteractionDetails): string[] => [...new Set(String(details.params.scope ?? '').split(' ').filter(Boolean))];

async function patientExists(deps: ConsentDeps, id: string): Promise<boolean> {
  return /^[A-Za-z0-9\-.]{1,64}$/.test(id) && (await deps.kit.s.records.read('Patient', id)) !== undefined;
}

function formatDate(date: string | undefined): string {
  if (!date || !/^\d{4}-\d{2}-\d{2}/.test(date)) return '';
  return new Date(`${date.slice(0, 10)}T12:00:00Z`).toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
}

/** GET /auth/interaction/:uid when the consent prompt is pending. */
export async function showConsentStep(deps: ConsentDeps, details: InteractionDetails, req: Request, res: Response, signedIn: AccountDocument): Promise<void> {
  const { kit } = deps;
  const provider = deps.provider();
  const account = await deps.accountInfo(signedIn._id);
  if (!account) throw new Error('signed-in account vanished');
  const clientId = String(details.params.client_id);
  const requested = requestedOf(details);
  const chosen = typeof req.query.patient === 'string' ? req.query.patient : undefined;
  const resolution = await resolveContext(
    { accounts: deps.accounts, launches: deps.launches, patientExists: (id) => patientExists(deps, id) },
    { account, clientId, requested, launch: typeof details.params.launch === 'string' ? details.params.launch : undefined, chosenPatient: chosen },
  );
  const flow = await interactionFlow(provider, details);
  if (resolution.kind === 'refused') {
    kit.page(req, res, {
      status: 403,
      title: 'This app cannot open a record',
      signedInAs: { email: signedIn.email },
      formOrigins: flow.formOrigins,
      body: html`<h1>This app cannot open a record</h1>${message('error', resolution.reason)}
<form method="post" action="/auth/interaction/${details.uid}/consent">${hiddenFields(kit.csrf(req, res))}<button type="submit" name="decision" value="deny">Return to the app</button></form>`,
    });
    return;
  }
  if (resolution.kind === 'pick') {
    await showPicker(deps, details, req, res, signedIn, flow.appName, resolution.candidates);
    return;
  }
  // The person was asked before (a remembered grant for this patient may answer now).
  if (!details.prompt.reasons.includes('consent_prompt')) {
    const remembered = await findRememberedGrant(provider, deps.grants, deps.fhirBase, { context: resolution.context, requested });
    if (remembered) {
      await finishWithGrant(deps, details, req, res, remembered.grantId, remembered.scope.split(' '));
      return;
    }
  }
  await showConsent(deps, details, req, res, signedIn, resolution.context, flow.appName ?? 'This app', flow.formOrigins);
}

async function showPicker(deps: ConsentDeps, details: InteractionDetails, req: Request, res: Response, signedIn: AccountDocument, appName: string | undefined, candidates: PatientChoice[] | 'search'): Promise<void> {
  const { kit } = deps;
  const action = `/auth/interaction/${details.uid}`;
  let list: PatientChoice[] = candidates === 'search' ? [] : candidates;
  let searchPart = html``;
  if (candidates === 'search') {
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 100) : '';
    if (q) {
      list = (await kit.s.records.searchPatients(q, 20)).map((p) => ({ id: p.id, name: nameOf(p.resource) ?? 'Unnamed', birthDate: p.resource.birthDate as string | undefined }));
    }
    searchPart = html`<form method="get" action="${action}" role="search">
${field({ name: 'q', label: 'Find the patient', type: 'search', hint: 'Name or medical record number (MRN)', value: q, autocomplete: 'off' })}
<div class="actions"><button type="submit" class="secondary">Search</button></div>
</form>
${q && list.length === 0 ? message('info', 'No patient matches. Check the spelling or search by MRN.') : ''}`;
  }
  const own = signedIn.fhirUser;
  kit.page(req, res, {
    title: 'Whose record?',
    signedInAs: { email: signedIn.email },
    body: html`<h1>Whose record?</h1>
<p><span class="app-name">${appName ?? 'The app'}</span> will open one health record. Choose whose.</p>
${searchPart}
${
  list.length > 0
    ? html`<form method="get" action="${action}">
<fieldset><legend>Patient</legend>
${list.map(
  (p, i) => html`<div class="choice"><input type="radio" name="patient" id="p-${i}" value="${p.id}"${i === 0 ? html` checked` : ''}><label for="p-${i}"><strong>${p.name}</strong>${own === `Patient/${p.id}` ? ' (you)' : ''}${p.birthDate ? html`<br>born ${formatDate(p.birthDate)}` : ''}</label></div>`,
)}
</fieldset>
<div class="actions"><button type="submit">Continue</button></div>
</form>`
    : ''
}`,
  });
}

function whoseOf(context: GrantContext, own: string | undefined, patientName: string | undefined): string {
  if (!context.patient) return 'your';
  if (own === `Patient/${context.patient}`) return 'your';
  return `${patientName ?? 'the patient'}’s`;
}

async function showConsent(deps: ConsentDeps, details: InteractionDetails, req: Request, res: Response, signedIn: AccountDocument, context: GrantContext, appName: string, formOrigins: string[]): Promise<void> {
  const { kit } = deps;
  const requested = requestedOf(details);
  const patientName = context.patient ? nameOf(await kit.s.records.read('Patient', context.patient)) : undefined;
  const whose = whoseOf(context, signedIn.fhirUser, patientName);
  const csrf = kit.csrf(req, res);
  const resourceItems = requested
    .map((text, i) => ({ text, i, scope: parseResourceScope(text) }))
    .filter((x) => x.scope !== undefined)
    .map(({ text, i, scope }) => {
      const categories = !scope!.query && (scope!.actions.has('r') || scope!.actions.has('s')) ? CATEGORIES[scope!.resourceType] : undefined;
      return html`<li><div class="choice"><input type="checkbox" name="scope" id="s-${i}" value="${text}" checked><label for="s-${i}">${describeScope(scope!, whose)}</label></div>
${
  categories
    ? html`<fieldset class="sub"><legend class="hint">Only some kinds? Untick what the app should not get:</legend>
${categories.map((c, j) => html`<div class="choice"><input type="checkbox" name="category-${i}" id="c-${i}-${j}" value="${j}" checked><label for="c-${i}-${j}">${c.words}</label></div>`)}
</fieldset>`
    : ''
}</li>`;
    });
  const others = [...new Set(requested.map((s) => describeOtherScope(s, whose)).filter((t): t is string => Boolean(t)))];
  const offline = requested.includes('offline_access');
  kit.page(req, res, {
    title: `Allow ${appName}?`,
    signedInAs: { email: signedIn.email },
    formOrigins,
    body: html`<h1>Allow <span class="app-name">${appName}</span> to use ${whose === 'your' ? 'your health record' : html`${patientName ?? 'the patient'}’s health record`}?</h1>
${context.needPatientBanner && whose !== 'your' ? message('info', html`You are acting for <strong>${patientName ?? 'another person'}</strong>.`) : ''}
<form method="post" action="/auth/interaction/${details.uid}/consent">
${hiddenFields(csrf, context.patient ? { patient: context.patient } : {})}
${
  resourceItems.length > 0
    ? html`<fieldset><legend>The app asks to:</legend><ul class="scope-list">${resourceItems}</ul></fieldset>`
    : ''
}
${
  offline
    ? html`<div class="choice"><input type="checkbox" name="offline" id="offline" value="yes" checked><label for="offline">Stay connected when you are not using the app, until you disconnect it</label></div>`
    : ''
}
${others.length > 0 ? html`<p>The app will also:</p><ul>${others.map((o) => html`<li>${o}</li>`)}</ul>` : ''}
<div class="actions"><button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny" class="secondary">Don’t allow</button></div>
</form>
<p class="hint">You can see and disconnect the apps you allowed at any time under <a href="/account/apps">Your account → Apps</a>.</p>`,
  });
}

/** The decision of a consent form, for the scopes the app really asked for (nothing else is taken). */
export function decisionOf(requested: string[], body: Record<string, unknown>): ScopeDecision {
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
  const ticked = new Set(list(body.scope));
  const decision: ScopeDecision = {};
  requested.forEach((text, i) => {
    const scope = parseResourceScope(text);
    if (scope) {
      if (!ticked.has(text)) {
        decision[text] = [];
        return;
      }
      const categories = !scope.query && (scope.actions.has('r') || scope.actions.has('s')) ? CATEGORIES[scope.resourceType] : undefined;
      const chosen = new Set(list(body[`category-${i}`]).map(Number));
      if (!categories || categories.every((_c, j) => chosen.has(j))) {
        decision[text] = [text];
        return;
      }
      decision[text] = categories.filter((_c, j) => chosen.has(j)).map((c) => `${text}?category=${c.system}|${c.code}`);
      return;
    }
    if (text === 'offline_access') decision[text] = body.offline === 'yes' ? [text] : [];
    else if (OTHER_SCOPES.has(text)) decision[text] = [text];
    else decision[text] = [];
  });
  return decision;
}

/** POST /auth/interaction/:uid/consent */
export async function postConsent(deps: ConsentDeps, details: InteractionDetails, req: Request, res: Response, signedIn: AccountDocument): Promise<void> {
  const { kit } = deps;
  const provider = deps.provider();
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (body.decision !== 'allow') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person did not allow access' }, { mergeWithLastSubmission: false });
    return;
  }
  const account = await deps.accountInfo(signedIn._id);
  if (!account) throw new Error('signed-in account vanished');
  const clientId = String(details.params.client_id);
  const requested = requestedOf(details);
  const resolution = await resolveContext(
    { accounts: deps.accounts, launches: deps.launches, patientExists: (id) => patientExists(deps, id) },
    { account, clientId, requested, launch: typeof details.params.launch === 'string' ? details.params.launch : undefined, chosenPatient: typeof body.patient === 'string' ? body.patient : undefined },
  );
  if (resolution.kind !== 'ready') {
    res.redirect(303, `/auth/interaction/${details.uid}`);
    return;
  }
  const decision = decisionOf(requested, body);
  const granted = grantedFor(decision, requested) ?? [];
  // One grant per app and patient: a new decision replaces the one before.
  for (const old of await deps.grants.ofAccount(account.id, clientId)) {
    if (old.patient === resolution.context.patient) await revokeGrant(kit.s.db, old.grantId, hashId);
  }
  const grantId = await saveGrant(provider, deps.grants, deps.fhirBase, resolution.context, granted, decision);
  await kit.s.events.record({ type: 'app-authorized', accountId: account.id, clientId, address: kit.address(req), subject: resolution.context.patient ? `Patient/${resolution.context.patient}` : undefined });
  await finishWithGrant(deps, details, req, res, grantId, granted);
}

/**
 * Finishes the consent prompt with a grant. The request's scope becomes what was granted, so that
 * narrowed (granular) scopes reach the code and the tokens: oidc-provider grants only scopes that
 * the request names.
 */
async function finishWithGrant(deps: ConsentDeps, details: InteractionDetails, req: Request, res: Response, grantId: string, granted: string[]): Promise<void> {
  const provider = deps.provider();
  const interaction = await provider.Interaction.find(details.uid);
  if (!interaction) throw new Error('interaction vanished');
  interaction.params.scope = granted.join(' ');
  await interaction.save(Math.max(1, (interaction.exp ?? 0) - Math.floor(Date.now() / 1000)));
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
