// GET /fhir/.well-known/smart-configuration: what a SMART app needs to know before it starts, with
// every required and recommended field and only capabilities that really work.
// See: https://hl7.org/fhir/smart-app-launch/conformance.html
import type { AuthEndpoints } from './endpoints.ts';

export const SMART_CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'authorize-post',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'sso-openid-connect',
  'context-ehr-patient',
  'context-ehr-encounter',
  'context-standalone-patient',
  'context-banner',
  'context-style',
  'permission-offline',
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
] as const;

export const SCOPES_SUPPORTED = [
  'openid',
  'fhirUser',
  'profile',
  'launch',
  'launch/patient',
  'launch/encounter',
  'offline_access',
  'online_access',
  'patient/*.cruds',
  'patient/*.rs',
  'patient/*.read',
  'patient/*.write',
  'user/*.cruds',
  'user/*.rs',
  'user/*.read',
  'user/*.write',
  'system/*.cruds',
  'system/*.rs',
  'system/*.read',
];

export function smartConfiguration(endpoints: AuthEndpoints): Record<string, unknown> {
  return {
    issuer: endpoints.issuer,
    jwks_uri: endpoints.jwks,
    authorization_endpoint: endpoints.authorize,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint: endpoints.token,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256', 'ES256'],
    scopes_supported: SCOPES_SUPPORTED,
    response_types_supported: ['code'],
    management_endpoint: endpoints.manage,
    introspection_endpoint: endpoints.introspect,
    revocation_endpoint: endpoints.revoke,
    userinfo_endpoint: endpoints.userinfo,
    code_challenge_methods_supported: ['S256'],
    capabilities: SMART_CAPABILITIES,
  };
}

/** The style a launched app can use to blend in (context-style). */
export function smartStyle(clinic: { color: string; name: string }): Record<string, unknown> {
  return {
    color_background: '#ffffff',
    color_error: '#b3261e',
    color_highlight: clinic.color,
    color_modal_backdrop: 'rgba(0, 0, 0, 0.4)',
    color_success: '#1b6e3a',
    color_text: '#1f2328',
    dim_border_radius: '6px',
    dim_font_size: '16px',
    dim_spacing_size: '16px',
    font_family_body: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    font_family_heading: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  };
}
