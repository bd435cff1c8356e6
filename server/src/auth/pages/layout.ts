// The frame of every sign-in and account page: the clinic's name and colours, one stylesheet, no
// inline script or style (the CSP forbids them), headers that keep the pages out of caches and
// frames.
import type { Response } from 'express';
import { html, type SafeHtml } from './html.ts';

export interface PageOptions {
  clinicName: string;
  title: string;
  body: SafeHtml;
  /** Shown above the main content: the signed-in person and a sign-out button. */
  signedInAs?: { email: string; csrf: string };
  /** Scripts of this server to load (passkeys). */
  scripts?: string[];
}

export const STATIC_PATH = '/auth/static';

export function renderPage(o: PageOptions): string {
  const header = html`<header class="site">
  <a class="clinic" href="/account">${o.clinicName}</a>
  ${
    o.signedInAs
      ? html`<form method="post" action="/account/sign-out" class="sign-out"><input type="hidden" name="_csrf" value="${o.signedInAs.csrf}"><span class="who">${o.signedInAs.email}</span> <button type="submit" class="link">Sign out</button></form>`
      : ''
  }
</header>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} – ${o.clinicName}</title>
<link rel="stylesheet" href="${STATIC_PATH}/pages.css">
<link rel="stylesheet" href="${STATIC_PATH}/clinic.css">
${(o.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
</head>
<body>
${header}
<main id="main">
${o.body}
</main>
</body>
</html>
`.value;
}

/**
 * Headers of a page. The CSP allows this server's own styles, scripts and images only.
 * `form-action` must also allow where the form's answer redirects to: Chromium applies it to every
 * redirect after a form is sent, and the sign-in and consent forms end with a redirect to the
 * app's redirect URI (on the app's origin), so those pages add the app's origins. No
 * `upgrade-insecure-requests`: it would break plain-http use on a developer's machine.
 */
export function setPageHeaders(res: Response, formOrigins: string[] = []): void {
  const formAction = ["'self'", ...new Set(formOrigins)].join(' ');
  res.set({
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    'Content-Security-Policy': `default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
}

export function sendPage(res: Response, status: number, page: PageOptions, formOrigins?: string[]): void {
  setPageHeaders(res, formOrigins);
  res.status(status).send(renderPage(page));
}
