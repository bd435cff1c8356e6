// Signing out of the portal: the tokens are revoked at the authorization server (RFC 7009; the
// refresh token first), this tab forgets them, and the browser goes to the authorization server's
// sign-out (OpenID RP-initiated logout), which ends the session there and on the clinic's pages
// (else "Sign in" would open the record again without a password) and comes back to /signed-out.
// See: https://www.rfc-editor.org/rfc/rfc7009#section-2.1
// See: https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
import type Client from 'fhirclient/lib/Client';
import { PORTAL_CLIENT_ID, forgetSession } from './smart-launch.ts';

async function revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
  await fetch('/auth/revoke', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: hint, client_id: PORTAL_CLIENT_ID }),
  });
}

/** The authorization server's sign-out, returning to the signed-out screen. */
export function endSessionUrl(idToken: string | undefined): string {
  const params = new URLSearchParams({ client_id: PORTAL_CLIENT_ID, post_logout_redirect_uri: `${window.location.origin}/signed-out`, state: 'signed-out' });
  if (idToken) params.set('id_token_hint', idToken);
  return `/auth/logout?${params.toString()}`;
}

/** Revokes the tokens and forgets them; resolves to where the browser goes next (endSessionUrl). */
export async function signOut(client: Client | undefined): Promise<string> {
  const idToken = client?.getState('tokenResponse.id_token') as string | undefined;
  const refresh = client?.getState('tokenResponse.refresh_token') as string | undefined;
  const access = client?.getState('tokenResponse.access_token') as string | undefined;
  try {
    if (refresh) await revoke(refresh, 'refresh_token');
    if (access) await revoke(access, 'access_token');
  } catch {
    // Unreachable server: the tokens still leave this tab, and expire on their own.
  } finally {
    forgetSession();
  }
  return endSessionUrl(idToken);
}
