// The sign-in, consent and account pages, mounted into the authorization server's router
// (auth-server.ts's mountPages hook): static files, the interaction steps, the account area,
// enrolment and recovery.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AuthServices } from '../auth-server.ts';
import { sweepAccounts, type AccountServices } from '../accounts/account-services.ts';
import type { AccountStore } from '../accounts/account-store.ts';
import { mountAccountPages } from './account-pages.ts';
import { clinicCss } from './clinic-style.ts';
import { mountEnrolmentPages } from './enrolment-pages.ts';
import { html } from './html.ts';
import { mountInteractionRoutes } from './interaction-routes.ts';
import { STATIC_PATH } from './layout.ts';
import { createPageKit } from './page-kit.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SWEEP_MS = 5 * 60_000;

function staticFiles(services: AuthServices): Record<string, { type: string; body: Buffer }> {
  const webauthn = path.join(services.config.rootDir, 'node_modules', '@simplewebauthn', 'browser', 'dist', 'bundle', 'index.umd.min.js');
  return {
    'pages.css': { type: 'text/css; charset=utf-8', body: fs.readFileSync(path.join(here, 'static', 'pages.css')) },
    'clinic.css': { type: 'text/css; charset=utf-8', body: Buffer.from(clinicCss(services.config.clinic.color)) },
    'passkeys.js': { type: 'text/javascript; charset=utf-8', body: fs.readFileSync(path.join(here, 'static', 'passkeys.js')) },
    'webauthn.js': { type: 'text/javascript; charset=utf-8', body: fs.readFileSync(webauthn) },
  };
}

/** Mounts every page; returns what stops the periodic sweep. */
export async function mountPages(router: Router, services: AuthServices, s: AccountServices, accounts: AccountStore): Promise<() => void> {
  const kit = await createPageKit(s);
  const files = staticFiles(services);
  router.get(`${STATIC_PATH}/:file`, (req, res, next) => {
    const file = files[String(req.params.file)];
    if (!file) return next();
    res.set({ 'Content-Type': file.type, 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }).send(file.body);
  });
  const cookies = cookieParser();
  router.use(['/account', '/auth/interaction'], cookies);
  const fhirBase = `${services.config.baseUrl}/fhir`;
  mountInteractionRoutes(router, kit, {
    kit,
    provider: services.provider,
    grants: services.grants,
    launches: services.launches,
    fhirBase,
    accountInfo: (id) => accounts.find(id),
    accounts,
  });
  mountAccountPages(router, { kit, provider: services.provider, grants: services.grants, clients: services.clients });
  mountEnrolmentPages(router, kit);
  // A failure in a page answers with a page (no details), and is logged without request data.
  router.use(['/account', '/auth/interaction'], (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { name?: string; status?: number; type?: string };
    if (e.type === 'entity.too.large' || e.status === 413 || e.status === 400) {
      kit.page(req, res, { status: e.status ?? 400, title: 'Please try again', body: html`<h1>Please try again</h1><p>The form could not be read. Go back and send it again.</p>` });
      return;
    }
    s.log.error({ err: { name: e.name, code: (err as { code?: unknown }).code } }, 'account page failed');
    kit.page(req, res, { status: 500, title: 'Something went wrong', body: html`<h1>Something went wrong</h1><p>Please try again in a moment. If it keeps happening, contact the clinic.</p>` });
  });
  const timer = setInterval(() => {
    sweepAccounts(s).catch((err: unknown) => s.log.error({ err: { name: (err as Error).name } }, 'sweeping expired account records failed'));
  }, SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export { express };
