// Whether a failed request means the sign-in has ended (idle or absolute timeout on the server, a
// password change elsewhere, a revoked app): the access token is refused (401) and fhirclient could
// not refresh it (the token endpoint refuses the refresh token with 400 invalid_grant, or there is
// none left). Other failures are worth a retry; this one needs a new sign-in.
// See: https://www.rfc-editor.org/rfc/rfc6749#section-5.2 (invalid_grant)
import { httpStatusOf } from '../components/query-state.tsx';

export function isSessionEnded(error: unknown): boolean {
  const status = httpStatusOf(error);
  const message = error instanceof Error ? error.message : '';
  if (status === 401) return true;
  if (status === 400 && /invalid_grant/.test(message)) return true;
  return /Unable to refresh|No refresh_token/i.test(message);
}
