// The launch context of an authorization: which patient (and encounter) the tokens of a grant are
// for. oidc-provider's grants know the account, client and scopes, not the patient, so each grant
// gets a context record here; a user who acts for several patients gets one grant per patient, and
// the tokens (and refresh tokens) of a grant carry its context.
import type { Collection, Db } from 'mongodb';

export const GRANT_CONTEXTS_COLLECTION = 'auth_grant_contexts';

export interface GrantContext {
  accountId: string;
  clientId: string;
  /** Patient id in context (launch/patient or an EHR launch). */
  patient?: string;
  encounter?: string;
  /** The app should show whose record is open (the user may act for someone else). */
  needPatientBanner: boolean;
  /**
   * What the person decided on the consent page (each requested scope, with the scopes granted
   * for it; a list, as scopes contain dots that cannot be field names), so
   * that the same request later needs no consent (scope-decisions.ts).
   */
  decision?: Array<{ requested: string; granted: string[] }>;
}

interface GrantContextDocument extends GrantContext {
  _id: string;
  createdAt: Date;
}

export class GrantContexts {
  private readonly contexts: Collection<GrantContextDocument>;

  constructor(db: Db) {
    this.contexts = db.collection<GrantContextDocument>(GRANT_CONTEXTS_COLLECTION);
  }

  async save(grantId: string, context: GrantContext): Promise<void> {
    await this.contexts.replaceOne({ _id: grantId }, { ...context, createdAt: new Date() }, { upsert: true });
  }

  async get(grantId: string): Promise<GrantContext | undefined> {
    const doc = await this.contexts.findOne({ _id: grantId });
    if (!doc) return undefined;
    const { _id, createdAt: _created, ...context } = doc;
    return context;
  }

  /** The grants of an account for a client (remembered authorizations). */
  async ofAccount(accountId: string, clientId?: string): Promise<Array<GrantContext & { grantId: string; createdAt: Date }>> {
    const docs = await this.contexts.find(clientId ? { accountId, clientId } : { accountId }).toArray();
    return docs.map(({ _id, ...rest }) => ({ grantId: _id, ...rest }));
  }

  async remove(grantId: string): Promise<void> {
    await this.contexts.deleteOne({ _id: grantId });
  }
}
