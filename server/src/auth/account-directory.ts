// What the authorization server needs to know about a signed-in person: who they are in FHIR
// terms, and whose records they may open. Implemented by the account store (accounts/).
export type AccountRole = 'patient' | 'proxy' | 'staff' | 'admin';

export interface AccountInfo {
  id: string;
  email: string;
  role: AccountRole;
  /** The FHIR resource the person is: Patient/… or Practitioner/… (admins may have none). */
  fhirUser?: string;
  name?: string;
  /** Patients this person may act for as a proxy, each through its RelatedPerson. */
  proxyFor: Array<{ relatedPerson: string; patient: string }>;
}

export interface AccountDirectory {
  find(accountId: string): Promise<AccountInfo | undefined>;
  /**
   * Patients the person may open a record for: themselves (a patient), and those they are a
   * proxy for; staff open records through an EHR launch instead.
   */
  patientsOf(account: AccountInfo): Promise<Array<{ id: string; name: string; birthDate?: string }>>;
}
