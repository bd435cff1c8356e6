// /auth/interaction/:uid — where oidc-provider sends the browser when an authorization needs the
// person: to sign in (password, second factor, or a passkey), then to pick a patient and consent.
// Each step ends with provider.interactionFinished, which sends the browser back to the
// authorization endpoint.
// See: https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#interactions
import express, { type Request, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import { postConsent, showConsentStep, type ConsentDeps } from './consent-pages.ts';
import type { PageKit } from './page-kit.ts';
import { passkeySignIn, passkeySignInOptions } from './passkey-routes.ts';
import { interactionFlow, loadInteraction, type InteractionDetails, type SignInFlow } from './sign-in-flow.ts';
import { postSecondFactor, postSignIn, showSecondFactor, showSignIn } from './sign-in-pages.ts';
import { postRecoveryCodes, postTotpSetup, showRecoveryCodes, showTotpSetup, type SetupPlace } from './two-factor-pages.ts';

/** Reasons of the login prompt that ask for a new sign-in even when the person is signed in. */
const FORCED = ['login_prompt', 'max_age', 'id_token_hint', 'claims_id_token_sub_value', 'account_session_ended'];

export function mountInteractionRoutes(router: Router, kit: PageKit, deps: ConsentDeps): void {
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 200 });
  const json = express.json({ limit: '32kb' });
  const provider = () => deps.provider();
  const base = '/auth/interaction/:uid';

  /** Runs a step with the request's interaction and its sign-in flow. */
  const step =
    (handler: (details: InteractionDetails, flow: SignInFlow, req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      const details = await loadInteraction(kit, provider(), req, res);
      if (!details) return;
      await handler(details, await interactionFlow(provider(), details), req, res);
    };

  const setupPlace = (flow: SignInFlow): SetupPlace => ({
    flow,
    stage: 'totp-setup',
    setupPath: `${flow.base}/totp-setup`,
    codesPath: `${flow.base}/recovery-codes`,
    async done(req, res, session) {
      const complete = await kit.s.sessions.complete(session, ['pwd', 'otp', 'mfa']);
      kit.setSessionCookie(req, res, complete);
      await kit.s.events.record({ type: 'sign-in', accountId: session.accountId, address: kit.address(req), method: 'password+totp' });
      await flow.finish(req, res, complete);
    },
  });

  router.get(
    base,
    step(async (details, flow, req, res) => {
      const session = await kit.session(req);
      if (details.prompt.name === 'login') {
        if (session && session.stage !== 'complete') {
          res.redirect(303, `${flow.base}/${session.stage}`);
          return;
        }
        // Already signed in on the clinic's pages: no need to ask again, unless the app asked for
        // a fresh sign-in (prompt=login, max_age) and this session is older than the request.
        const forced = details.prompt.reasons.some((r) => FORCED.includes(r));
        const fresh = session && session.authTime.getTime() / 1000 >= (details.iat ?? 0) - 1;
        const account = session ? await kit.s.accounts.byId(session.accountId) : null;
        if (session && account && !account.disabled && (!forced || fresh)) {
          await flow.finish(req, res, session);
          return;
        }
        const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
        showSignIn(kit, flow, req, res, { email: account?.email ?? hint });
        return;
      }
      // consent
      const signedIn = await kit.signedIn(req);
      if (!signedIn || signedIn.session.accountId !== details.session?.accountId) {
        // The page session ended (or is someone else's): sign in again through the app.
        showSignIn(kit, flow, req, res, { info: 'Your session has ended. Sign in again to continue.' });
        return;
      }
      await showConsentStep(deps, details, req, res, signedIn.account);
    }),
  );

  router.post(`${base}/sign-in`, form, step((_d, flow, req, res) => postSignIn(kit, flow, req, res)));
  router.get(`${base}/second-factor`, step((_d, flow, req, res) => showSecondFactor(kit, flow, req, res)));
  router.post(`${base}/second-factor`, form, step((_d, flow, req, res) => postSecondFactor(kit, flow, req, res)));
  router.get(`${base}/totp-setup`, step((_d, flow, req, res) => showTotpSetup(kit, setupPlace(flow), req, res)));
  router.post(`${base}/totp-setup`, form, step((_d, flow, req, res) => postTotpSetup(kit, setupPlace(flow), req, res)));
  router.get(`${base}/recovery-codes`, step((_d, flow, req, res) => showRecoveryCodes(kit, setupPlace(flow), req, res)));
  router.post(`${base}/recovery-codes`, form, step((_d, flow, req, res) => postRecoveryCodes(kit, setupPlace(flow), req, res)));
  router.get(`${base}/passkey-options`, step((_d, _flow, req, res) => passkeySignInOptions(kit, req, res)));
  router.post(`${base}/passkey`, json, step((_d, flow, req, res) => passkeySignIn(kit, flow, req, res)));
  router.post(
    `${base}/consent`,
    form,
    step(async (details, _flow, req, res) => {
      if (!kit.checkCsrf(req, res)) return;
      const signedIn = await kit.signedIn(req);
      if (!signedIn || details.prompt.name !== 'consent' || signedIn.session.accountId !== details.session?.accountId) {
        res.redirect(303, `/auth/interaction/${details.uid}`);
        return;
      }
      await postConsent(deps, details, req, res, signedIn.account);
    }),
  );
}

export type { Provider };
