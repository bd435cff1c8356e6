// The admin-only API: the operations of `npm run admin` over HTTP, under /auth/admin, for an
// access token of an admin account (any SMART app the admin signs in to). JSON in, JSON out;
// problems are {error, error_description} with 400, 401 or 403, as the launch API answers.
import express, { type Request, type Response, type Router } from 'express';
import type { BearerCheck } from '../auth/bearer-tokens.ts';
import { bearerCaller, oauthError as fail } from '../auth/json-endpoint.ts';
import { activationCode, addAdmin, addStaff, invitePatientByEmail, inviteProxyByEmail, unlockUser } from './account-operations.ts';
import { addClient, AdminUsageError, listClients, removeClient, rotateKeys, type AdminContext } from './admin-operations.ts';

type Operation = (ctx: AdminContext, body: Record<string, unknown>, req: Request, actor: string) => Promise<unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : typeof v === 'string' ? [v] : undefined);

export function mountAdminApi(router: Router, ctx: AdminContext, bearer: BearerCheck): void {
  const json = express.json({ limit: '64kb' });

  const route = (method: 'get' | 'post' | 'delete', path: string, status: number, op: Operation) => {
    router[method](`/auth/admin${path}`, json, async (req: Request, res: Response) => {
      const caller = await bearerCaller(bearer, req, res, 'An access token of an admin account is required');
      if (!caller) return;
      if (caller.principal.kind !== 'user' || caller.principal.role !== 'admin') return fail(res, 403, 'insufficient_scope', 'Only admins may use the admin API');
      try {
        const result = await op(ctx, (req.body ?? {}) as Record<string, unknown>, req, caller.principal.accountId);
        res.status(status).set('Cache-Control', 'no-store').json(result);
      } catch (err) {
        if (err instanceof AdminUsageError) return fail(res, 400, 'invalid_request', err.message);
        throw err;
      }
    });
  };

  route('get', '/clients', 200, (c) => listClients(c));
  route('post', '/clients', 201, (c, b) =>
    addClient(c, { name: str(b.name), type: str(b.type), redirectUris: strings(b.redirectUris), jwks: b.jwks as { keys: object[] } | undefined, jwksUrl: str(b.jwksUrl), scope: str(b.scope), launchUri: str(b.launchUri) }),
  );
  route('delete', '/clients/:id', 200, (c, _b, req) => removeClient(c, String(req.params.id)));
  route('post', '/keys/rotate', 200, (c) => rotateKeys(c));
  route('post', '/activation-codes', 201, (c, b, _r, actor) => activationCode(c, { mrn: str(b.mrn), actor }));
  route('post', '/invitations', 201, (c, b, _r, actor) => invitePatientByEmail(c, { mrn: str(b.mrn), email: str(b.email), actor }));
  route('post', '/proxy-invitations', 201, (c, b, _r, actor) => inviteProxyByEmail(c, { relatedPerson: str(b.relatedPerson), email: str(b.email), actor }));
  route('post', '/staff', 201, (c, b, _r, actor) => addStaff(c, { email: str(b.email), practitioner: str(b.practitioner), actor }));
  route('post', '/admins', 201, (c, b, _r, actor) => addAdmin(c, { email: str(b.email), actor }));
  route('post', '/users/unlock', 200, (c, b, _r, actor) => unlockUser(c, { email: str(b.email), actor }));
}
