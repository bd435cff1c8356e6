// The SMART standalone launch against this server, with fhirclient (PKCE S256 required, the
// authorization code and token exchange, refresh, the session kept in sessionStorage).
// See: https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-standalone-launch
import FHIR from 'fhirclient/lib/entry/browser.js';
import type Client from 'fhirclient/lib/Client';
import { SMART_KEY } from 'fhirclient/lib/settings.js';

/** The portal's registration: a public client the server registers at start-up (README "Authorization"). */
export const PORTAL_CLIENT_ID = 'patient-portal';

/**
 * What the portal asks for: the patient in context, who is signed in, a refresh token that
 * outlives the browser tab, and read/search of only the resource types its screens show. A proxy
 * gets less where the patient granted less (the server decides; absent sections say so).
 */
export const PORTAL_SCOPES = [
  'launch/patient',
  'openid',
  'fhirUser',
  'offline_access',
  'patient/Patient.rs',
  'patient/Observation.rs',
  'patient/DiagnosticReport.rs',
  'patient/Appointment.rs',
  'patient/Communication.rs',
  'patient/Invoice.rs',
  'patient/MedicationRequest.rs',
].join(' ');

export const fhirBaseUrl = (): string => `${window.location.origin}/fhir`;

/** Sends the browser to the authorization server's sign-in; comes back at /callback. */
export async function startSignIn(): Promise<void> {
  await FHIR.oauth2.authorize({
    clientId: PORTAL_CLIENT_ID,
    scope: PORTAL_SCOPES,
    iss: fhirBaseUrl(),
    redirectUri: '/callback',
    pkceMode: 'required',
  });
}

/** On /callback: exchanges the code for tokens (fhirclient checks `state` and sends the PKCE verifier). */
export function completeSignIn(): Promise<Client> {
  return FHIR.oauth2.ready();
}

/** Whether this tab holds a session from an earlier sign-in. */
export function hasStoredSession(): boolean {
  return sessionStorage.getItem(SMART_KEY) !== null;
}

/** The session of this tab (tokens from sessionStorage), or undefined when there is none. */
export async function restoreSession(): Promise<Client | undefined> {
  if (!hasStoredSession()) return undefined;
  try {
    return await FHIR.oauth2.ready();
  } catch {
    return undefined;
  }
}

/** Forgets this tab's session (fhirclient keeps its state under SMART_KEY and the state's id). */
export function forgetSession(): void {
  const key = sessionStorage.getItem(SMART_KEY);
  if (key) sessionStorage.removeItem(JSON.parse(key) as string);
  sessionStorage.removeItem(SMART_KEY);
}
