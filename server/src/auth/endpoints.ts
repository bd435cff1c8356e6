// Where the authorization server's endpoints live, derived from BASE_URL. Used by the provider
// (its routes), the SMART configuration, the openid-configuration and the CapabilityStatement.
export const AUTH_MOUNT = '/auth';

/** oidc-provider routes below the mount (its defaults renamed to the names SMART apps expect). */
export const AUTH_ROUTES = {
  authorization: '/authorize',
  token: '/token',
  introspection: '/introspect',
  revocation: '/revoke',
  userinfo: '/userinfo',
  jwks: '/jwks',
  end_session: '/logout',
} as const;

export interface AuthEndpoints {
  issuer: string;
  authorize: string;
  token: string;
  introspect: string;
  revoke: string;
  userinfo: string;
  jwks: string;
  logout: string;
  /** Where a user reviews and revokes the apps they authorized. */
  manage: string;
  /** The SMART style JSON the token response points to. */
  style: string;
  /** Creates EHR launch contexts (staff apps). */
  launch: string;
}

export function authEndpoints(baseUrl: string): AuthEndpoints {
  const issuer = `${baseUrl}${AUTH_MOUNT}`;
  return {
    issuer,
    authorize: `${issuer}${AUTH_ROUTES.authorization}`,
    token: `${issuer}${AUTH_ROUTES.token}`,
    introspect: `${issuer}${AUTH_ROUTES.introspection}`,
    revoke: `${issuer}${AUTH_ROUTES.revocation}`,
    userinfo: `${issuer}${AUTH_ROUTES.userinfo}`,
    jwks: `${issuer}${AUTH_ROUTES.jwks}`,
    logout: `${issuer}${AUTH_ROUTES.end_session}`,
    manage: `${baseUrl}/account/apps`,
    style: `${issuer}/smart-style.json`,
    launch: `${issuer}/launch`,
  };
}
