// Serves the built patient portal (client/dist) at `/`: hashed assets cached for a year (their
// names change with their contents), index.html revalidated on every load (so a new build is
// picked up at once), and the single-page app's own paths (/results, /callback, …) answered with
// index.html. The server's own areas are never swallowed: an unknown /fhir, /auth or /account path
// stays the 404 of that area, and a missing script, style or image stays a 404.
// See: https://vite.dev/guide/build (hashed asset names)
import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response, type NextFunction, type Router } from 'express';

/** Paths that belong to the server, not to the single-page app. */
const SERVER_AREAS = /^\/(fhir|auth|account|healthz|\.well-known)(\/|$)/;
/**
 * A request for a file (answered 404 when missing, never with the page). Only the kinds of file a
 * web page loads: the app's own paths may hold dots (a test's key names its code system, loinc.org).
 */
const FILE_REQUEST = /\.(?:js|mjs|css|map|ico|png|jpe?g|gif|svg|webp|avif|txt|json|xml|webmanifest|woff2?|ttf)$/i;
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The page's policy: scripts only from this server, requests only to it (the FHIR API and the
 * authorization server), inline styles allowed (Mantine writes its CSS variables into a style
 * element; the charts style their SVG inline). Unlike helmet's default, no
 * `upgrade-insecure-requests`: on plain http from another machine (a developer's LAN address) it
 * would send the portal's own scripts to an https address that does not answer.
 */
const PORTAL_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The portal's routes. The portal's pages only talk to this server (the SMART authorization
 * server and the FHIR API); the policy keeps them to it. Mantine and the charts set inline styles.
 */
export function portalRouter(distDir: string): Router {
  const router = express.Router();
  const assets = path.join(distDir, 'assets');
  router.use(
    '/assets',
    express.static(assets, {
      index: false,
      setHeaders: (res) => res.setHeader('Cache-Control', IMMUTABLE),
    }),
  );
  // Other files at the top of the build (favicon, robots.txt): short caching, they keep their names.
  router.use(express.static(distDir, { index: false, setHeaders: (res) => res.setHeader('Cache-Control', 'public, max-age=300') }));

  const sendIndex = (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || SERVER_AREAS.test(req.path) || FILE_REQUEST.test(req.path)) {
      next();
      return;
    }
    const index = path.join(distDir, 'index.html');
    if (!fs.existsSync(index)) {
      res.status(503).type('text/plain').setHeader('Cache-Control', 'no-store');
      res.send('The patient portal is not built yet. `npm start` builds it (or run `npm run build:client`).\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Security-Policy', PORTAL_CSP);
    res.sendFile(index);
  };
  router.use(sendIndex);
  return router;
}
