// Passkeys (WebAuthn): signing in without a password, and adding or removing passkeys from the
// account's security page. The browser side is @simplewebauthn/browser with a small script of
// ours (static/passkeys.js); everything else on the pages works without JavaScript.
// Challenges are single-use and expire after five minutes.
// See: https://www.w3.org/TR/webauthn-3/ and https://simplewebauthn.dev/docs/packages/server
import type { Request, Response } from 'express';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { stageAfterPassword } from '../accounts/sign-in.ts';
import type { AccountDocument, StoredPasskey } from '../accounts/account-store.ts';
import { STATIC_PATH } from './layout.ts';
import type { PageKit } from './page-kit.ts';
import type { SignInFlow } from './sign-in-flow.ts';

export const PASSKEY_SCRIPTS = [`${STATIC_PATH}/webauthn.js`, `${STATIC_PATH}/passkeys.js`];
const CHALLENGE_TTL_MS = 5 * 60_000;
const MAX_PASSKEYS = 10;

function relyingParty(kit: PageKit) {
  const url = new URL(kit.s.config.baseUrl);
  return { rpID: url.hostname, origin: url.origin, rpName: kit.s.config.clinic.name };
}

/** The challenge in a response, checked and used up (single use, right purpose, not expired). */
function challengeCheck(kit: PageKit, purpose: string) {
  return async (challenge: string) => {
    const data = await kit.s.secrets.use('webauthn-challenge', challenge);
    return data?.purpose === purpose;
  };
}

function jsonError(res: Response, status: number, error: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error });
}

export async function passkeySignInOptions(kit: PageKit, _req: Request, res: Response): Promise<void> {
  const { rpID } = relyingParty(kit);
  // Discoverable credentials: the authenticator offers the passkeys it holds for this site.
  const options = await generateAuthenticationOptions({ rpID, userVerification: 'preferred', timeout: 120_000 });
  await kit.s.secrets.issue('webauthn-challenge', { purpose: 'sign-in' }, CHALLENGE_TTL_MS, options.challenge);
  res.set('Cache-Control', 'no-store').json(options);
}

export async function passkeySignIn(kit: PageKit, flow: SignInFlow, req: Request, res: Response): Promise<void> {
  if (!kit.checkCsrfJson(req)) return jsonError(res, 403, 'This page has expired. Reload it and try again.');
  const address = kit.address(req);
  const verdict = await kit.s.throttle.check('passkey', address);
  if (!verdict.allowed) return jsonError(res, 429, `Too many failed attempts. Wait ${verdict.retryAfterSeconds} seconds, then try again.`);
  const response = (req.body as { response?: AuthenticationResponseJSON }).response;
  const fail = async (reason: string, account?: AccountDocument) => {
    await kit.s.throttle.failure('passkey', address);
    await kit.s.events.record({ type: 'sign-in-failed', accountId: account?._id, address, method: 'passkey', reason });
    jsonError(res, 401, 'That passkey was not accepted. Sign in with your email address and password instead.');
  };
  if (!response || typeof response.id !== 'string' || typeof response.response?.userHandle !== 'string') return fail('malformed response');
  const accountId = Buffer.from(response.response.userHandle, 'base64url').toString('utf8');
  const account = await kit.s.accounts.byId(accountId);
  const passkey = account?.passkeys?.find((p) => p.id === response.id);
  if (!account || account.disabled || !passkey) return fail('unknown passkey', account ?? undefined);
  const { rpID, origin } = relyingParty(kit);
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challengeCheck(kit, 'sign-in'),
      expectedOrigin: origin,
      expectedRPID: rpID,
      credential: { id: passkey.id, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: passkey.counter, transports: passkey.transports },
      requireUserVerification: false,
    });
  } catch {
    return fail('verification failed', account);
  }
  if (!verified.verified) return fail('verification failed', account);
  const passkeys = (account.passkeys ?? []).map((p) => (p.id === passkey.id ? { ...p, counter: verified.authenticationInfo.newCounter, lastUsedAt: new Date() } : p));
  await kit.s.accounts.update(account._id, { passkeys });
  // A passkey that verified the person (PIN, fingerprint) is two factors in one; one that only
  // saw someone touch it is one, and the account's second factor follows.
  const userVerified = verified.authenticationInfo.userVerified;
  const stage = userVerified ? 'complete' : stageAfterPassword(account);
  const amr = userVerified ? ['hwk', 'user', 'mfa'] : ['hwk'];
  const previous = await kit.session(req);
  if (previous) await kit.s.sessions.end(previous.token);
  const session = await kit.s.sessions.create(account._id, stage, amr);
  kit.setSessionCookie(req, res, session);
  if (stage === 'complete') await kit.s.events.record({ type: 'sign-in', accountId: account._id, address, method: 'passkey' });
  const next = stage === 'complete' ? (flow.base === '/account' ? flow.hidden.next : flow.base) : `${flow.base}/${stage}`;
  res.set('Cache-Control', 'no-store').json({ next });
}

export async function passkeyRegistrationOptions(kit: PageKit, req: Request, res: Response): Promise<void> {
  const signedIn = await kit.signedIn(req);
  if (!signedIn) return jsonError(res, 401, 'Your session has ended. Sign in again.');
  const { account } = signedIn;
  const { rpID, rpName } = relyingParty(kit);
  const options = await generateRegistrationOptions({
    rpName,
    rpID,
    userName: account.email,
    userDisplayName: account.name ?? account.email,
    userID: Buffer.from(account._id, 'utf8'),
    attestationType: 'none',
    excludeCredentials: (account.passkeys ?? []).map((p) => ({ id: p.id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    timeout: 120_000,
  });
  await kit.s.secrets.issue('webauthn-challenge', { purpose: `register:${account._id}`, accountId: account._id }, CHALLENGE_TTL_MS, options.challenge);
  res.set('Cache-Control', 'no-store').json(options);
}

export async function passkeyRegister(kit: PageKit, req: Request, res: Response): Promise<void> {
  if (!kit.checkCsrfJson(req)) return jsonError(res, 403, 'This page has expired. Reload it and try again.');
  const signedIn = await kit.signedIn(req);
  if (!signedIn) return jsonError(res, 401, 'Your session has ended. Sign in again.');
  const { account } = signedIn;
  const body = req.body as { response?: RegistrationResponseJSON; name?: unknown };
  if ((account.passkeys ?? []).length >= MAX_PASSKEYS) return jsonError(res, 400, `An account can have at most ${MAX_PASSKEYS} passkeys. Remove one first.`);
  const { rpID, origin } = relyingParty(kit);
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: body.response as RegistrationResponseJSON,
      expectedChallenge: challengeCheck(kit, `register:${account._id}`),
      expectedOrigin: origin,
      expectedRPID: rpID,
      requireUserVerification: false,
    });
  } catch {
    verified = undefined;
  }
  if (!verified?.verified) return jsonError(res, 400, 'The passkey could not be added. Try again, or use another device.');
  const { credential } = verified.registrationInfo;
  const name = typeof body.name === 'string' && body.name.trim() ? body.name.trim().slice(0, 60) : 'Passkey';
  const passkey: StoredPasskey = {
    id: credential.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: credential.transports,
    name,
    createdAt: new Date(),
  };
  await kit.s.accounts.update(account._id, { passkeys: [...(account.passkeys ?? []).filter((p) => p.id !== passkey.id), passkey] });
  await kit.s.events.record({ type: 'passkey-added', accountId: account._id, address: kit.address(req) });
  res.set('Cache-Control', 'no-store').json({ next: '/account/security?added=passkey' });
}
