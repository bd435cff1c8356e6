// What every page handler needs: the account session of the request (cookie), CSRF tokens
// (csrf-csrf: a signed double-submit cookie bound to the session), the client's address for
// throttling, and the answer helpers.
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import type { Db } from 'mongodb';
import type { AccountServices } from '../accounts/account-services.ts';
import { SESSION_COOKIE, type ActiveSession } from '../accounts/account-sessions.ts';
import type { AccountDocument } from '../accounts/account-store.ts';
import type { SecretBox } from '../secret-box.ts';
import { html, type SafeHtml } from './html.ts';
import { sendPage } from './layout.ts';
import { clientAddress } from '../../client-address.ts';


const CSRF_COOKIE = 'hr_csrf';

export interface PageKit {
  s: AccountServices;
  /** The request's account session, when it has one that has not ended (any stage). */
  session(req: Request): Promise<ActiveSession | undefined>;
  /** The signed-in person (a complete session), with the session. */
  signedIn(req: Request): Promise<{ session: ActiveSession; account: AccountDocument } | undefined>;
  setSessionCookie(req: Request, res: Response, session: ActiveSession): void;
  clearSessionCookie(req: Request, res: Response): void;
  /** A CSRF token for the forms of the page being rendered (sets its cookie). */
  csrf(req: Request, res: Response): string;
  /** False (and a 403 page sent) when a form post carries no valid CSRF token. */
  checkCsrf(req: Request, res: Response): boolean;
  /** Whether a JSON post (passkeys) carries a valid CSRF token (its `_csrf` member). */
  checkCsrfJson(req: Request): boolean;
  address(req: Request): string;
  secure(req: Request): boolean;
  /** Sends a page in the clinic's frame. */
  page(req: Request, res: Response, o: { status?: number; title: string; body: SafeHtml; formOrigins?: string[]; scripts?: string[]; signedInAs?: { email: string } }): void;
}

/** The CSRF key: random, stored sealed in the database so that every instance shares it. */
async function csrfSecret(db: Db, box: SecretBox): Promise<string> {
  const coll = db.collection<{ _id: string; sealed: string }>('auth_page_secrets');
  const existing = await coll.findOne({ _id: 'csrf' });
  if (existing) return box.openText(existing.sealed, 'page-secret:csrf');
  try {
    await coll.insertOne({ _id: 'csrf', sealed: box.seal(randomBytes(32).toString('base64url'), 'page-secret:csrf') });
  } catch {
    // another instance made it first
  }
  return box.openText((await coll.findOne({ _id: 'csrf' }))!.sealed, 'page-secret:csrf');
}

export async function createPageKit(s: AccountServices): Promise<PageKit> {
  const { config } = s;
  const secret = await csrfSecret(s.db, s.box);
  const httpsBase = config.baseUrl.startsWith('https://');
  const secure = (req: Request) => httpsBase || (config.trustProxy ? req.headers['x-forwarded-proto'] === 'https' : (req.socket as { encrypted?: boolean }).encrypted === true);
  const sessionCookieOf = (req: Request): string | undefined => (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];

  const csrf = doubleCsrf({
    getSecret: () => secret,
    getSessionIdentifier: (req) => sessionCookieOf(req) ?? '',
    cookieName: CSRF_COOKIE,
    cookieOptions: { sameSite: 'lax', path: '/', secure: httpsBase, httpOnly: true },
    getCsrfTokenFromRequest: (req) => (req.body as Record<string, string> | undefined)?._csrf,
  });

  const kit: PageKit = {
    s,
    async session(req) {
      return s.sessions.find(sessionCookieOf(req));
    },
    async signedIn(req) {
      const session = await kit.session(req);
      if (!session || session.stage !== 'complete') return undefined;
      const account = await s.accounts.byId(session.accountId);
      if (!account || account.disabled) return undefined;
      return { session, account };
    },
    setSessionCookie(req, res, session) {
      // Cookie expiry: the session's absolute end; the idle end is checked on the server.
      res.cookie(SESSION_COOKIE, session.token, { httpOnly: true, sameSite: 'lax', secure: secure(req), path: '/', expires: session.expiresAt });
      // The request's own cookie changes too, so a CSRF token made later in this request is bound to it.
      (req.cookies as Record<string, string>)[SESSION_COOKIE] = session.token;
      delete res.locals.csrfToken;
    },
    clearSessionCookie(req, res) {
      res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: secure(req), path: '/' });
      delete (req.cookies as Record<string, string>)[SESSION_COOKIE];
    },
    csrf(req, res) {
      // One token per response: a second call would set a second cookie that replaces the first.
      const made = res.locals.csrfToken as string | undefined;
      if (made) return made;
      const token = csrf.generateCsrfToken(req, res, { overwrite: false, cookieOptions: { secure: secure(req) } });
      res.locals.csrfToken = token;
      return token;
    },
    checkCsrf(req, res) {
      if (csrf.validateRequest(req)) return true;
      kit.page(req, res, {
        status: 403,
        title: 'Please try again',
        body: html`<h1>Please try again</h1><div class="message error" role="alert"><p>This form was open too long or was sent from somewhere else, so it was not accepted. Go back, reload the page and send it again.</p></div><p><a href="/account">Go to your account</a></p>`,
      });
      return false;
    },
    checkCsrfJson(req) {
      return csrf.validateRequest(req);
    },
    address(req) {
      return clientAddress(req, config.trustProxy);
    },
    secure,
    page(req, res, o) {
      sendPage(
        res,
        o.status ?? 200,
        {
          clinicName: config.clinic.name,
          title: o.title,
          body: o.body,
          scripts: o.scripts,
          signedInAs: o.signedInAs ? { email: o.signedInAs.email, csrf: kit.csrf(req, res) } : undefined,
        },
        o.formOrigins,
      );
    },
  };
  return kit;
}
