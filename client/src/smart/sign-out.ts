// Signing out of the portal: the tokens are revoked at the authorization server (RFC 7009; the
// refresh token first, which ends the grant's access tokens with it), then this tab forgets them.
// See: https://www.rfc-editor.org/rfc/rfc7009#section-2.1
import type Client from 'fhirclient/lib/Client';
import { PORTAL_CLIENT_ID, forgetSession } from './smart-launch.ts';

async function revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
  await fetch('/auth/revoke', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: hint, client_id: PORTAL_CLIENT_ID }),
  });
}

export async function signOut(client: Client | undefined): Promise<void> {
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
}
