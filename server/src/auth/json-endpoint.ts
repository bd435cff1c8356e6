// The authorization server's own JSON endpoints under /auth (the launch API, the admin API):
// problems answered as OAuth errors ({error, error_description}, RFC 6749 §5.2 style), never
// cached, and the caller known from its bearer token (401 with RFC 6750's WWW-Authenticate).
import type { Request, Response } from 'express';
import type { AccessContext } from '../fhir/types.ts';
import type { BearerCheck } from './bearer-tokens.ts';

export function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}

/** The caller of the request, or undefined once a 401 has been answered (`needed` says what token would do). */
export async function bearerCaller(bearer: BearerCheck, req: Request, res: Response, needed: string): Promise<AccessContext | undefined> {
  try {
    return await bearer.authenticate(req.headers.authorization, String(res.locals.requestId ?? '-'));
  } catch (err) {
    const headers = (err as { headers?: Record<string, string> }).headers;
    if (headers) res.set(headers);
    oauthError(res, 401, 'invalid_token', needed);
    return undefined;
  }
}
