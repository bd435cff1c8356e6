// Where a sign-in is going: an app's authorization (an oidc-provider interaction at
// /auth/interaction/:uid) or the account pages (/account). The same forms serve both; the flow says
// where they post, which app is waiting, and what happens once the person is signed in.
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import type { ActiveSession } from '../accounts/account-sessions.ts';
import { html } from './html.ts';
import type { PageKit } from './page-kit.ts';

export interface SignInFlow {
  /** The path the flow's forms post to: /auth/interaction/<uid> or /account. */
  base: string;
  /** Hidden form fields that carry the flow (the page to return to). */
  hidden: Record<string, string>;
  /** Origins the final redirect may go to (the app's redirect URIs), for the CSP's form-action. */
  formOrigins: string[];
  /** The app waiting for the sign-in. */
  appName?: string;
  /** The person is signed in (complete session): continue. */
  finish(req: Request, res: Response, session: ActiveSession): Promise<void>;
}

/** Only pages of the account area may be returned to (no open redirect). */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/account(\/[A-Za-z0-9\-/]*)?(\?[A-Za-z0-9=&\-_.%]*)?$/.test(value) ? value : '/account';
}

export function accountFlow(req: Request): SignInFlow {
  const next = safeNext((req.body as Record<string, unknown> | undefined)?.next ?? req.query.next);
  return {
    base: '/account',
    hidden: { next },
    formOrigins: [],
    async finish(_req, res) {
      res.redirect(303, next);
    },
  };
}

/** The origins of an app's redirect URIs. */
export function originsOf(redirectUris: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const uri of redirectUris ?? []) {
    try {
      out.push(new URL(uri).origin);
    } catch {
      // not a URL: cannot be redirected to anyway
    }
  }
  return out;
}

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The interaction of a request, checked: it exists, the browser holds its cookie, and it is the one
 * the URL names. undefined (and an explanatory page sent) otherwise.
 */
export async function loadInteraction(kit: PageKit, provider: Provider, req: Request, res: Response): Promise<InteractionDetails | undefined> {
  let details: InteractionDetails | undefined;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    details = undefined;
  }
  if (!details || details.uid !== req.params.uid) {
    kit.page(req, res, {
      status: 400,
      title: 'Start again from the app',
      body: html`<h1>Start again from the app</h1><div class="message error" role="alert"><p>This sign-in page has expired or was opened in another browser. Go back to the app and choose to sign in again.</p></div><p><a href="/account">Go to your account instead</a></p>`,
    });
    return undefined;
  }
  return details;
}

export async function interactionFlow(provider: Provider, details: InteractionDetails): Promise<SignInFlow> {
  const client = await provider.Client.find(String(details.params.client_id));
  return {
    base: `/auth/interaction/${details.uid}`,
    hidden: {},
    formOrigins: originsOf(client?.redirectUris),
    appName: client?.clientName ?? undefined,
    async finish(req, res, session) {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: session.accountId, amr: session.amr, ts: Math.floor(session.authTime.getTime() / 1000), remember: true } },
        { mergeWithLastSubmission: false },
      );
    },
  };
}
