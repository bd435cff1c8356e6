// The signed-in session the screens use: the fhirclient Client (the user's own token, refreshed by
// fhirclient when it expires) and the patient whose record is open.
import { createContext, useContext } from 'react';
import type Client from 'fhirclient/lib/Client';

export interface PortalSession {
  client: Client;
  /** The patient in context (the token response's `patient`). */
  patientId: string;
  /** Who is signed in (the `fhirUser` claim): Patient/… or, for a proxy, RelatedPerson/…. */
  user: string | undefined;
}

export const SessionContext = createContext<PortalSession | undefined>(undefined);

export function useSession(): PortalSession {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}
