// Who did what to an account, and from where: every sign-in, failed sign-in, lock, password or
// second-factor change. Stored without passwords, codes or tokens (the access issue turns these
// records into AuditEvents). Recording never fails the request it describes: a broken store is
// logged, not thrown.
import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { AccountEventFacts } from '../../audit/audit-record.ts';
import type { Logger } from '../../logger.ts';

export const SECURITY_EVENTS_COLLECTION = 'security_events';

export type SecurityEventType =
  | 'sign-in'
  | 'sign-in-failed'
  | 'sign-out'
  | 'locked'
  | 'unlocked'
  | 'registered'
  | 'password-changed'
  | 'password-reset-requested'
  | 'password-reset'
  | 'username-reminder-requested'
  | 'totp-enabled'
  | 'totp-disabled'
  | 'recovery-code-used'
  | 'recovery-codes-renewed'
  | 'passkey-added'
  | 'passkey-removed'
  | 'second-factor-failed'
  | 'account-created'
  | 'activation-code-issued'
  | 'invitation-sent'
  | 'app-authorized'
  | 'app-revoked';

/** Who, from where, how (never the secret itself), why it failed: the audit trail's account facts. */
export interface SecurityEvent extends AccountEventFacts {
  type: SecurityEventType;
}

export interface StoredSecurityEvent extends SecurityEvent {
  _id: string;
  at: Date;
}

export interface SecurityEvents {
  record(event: SecurityEvent): Promise<void>;
}

export class StoredSecurityEvents implements SecurityEvents {
  private readonly events: Collection<StoredSecurityEvent>;

  /** also: where the same events go too (the audit trail, audit/account-events.ts). */
  constructor(
    db: Db,
    private readonly log: Logger,
    private readonly also?: SecurityEvents,
  ) {
    this.events = db.collection<StoredSecurityEvent>(SECURITY_EVENTS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.events.createIndex({ accountId: 1, at: -1 }, { name: 'accountId_at' });
  }

  async record(event: SecurityEvent): Promise<void> {
    // Fields left undefined are not stored at all.
    const defined = Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)) as unknown as SecurityEvent;
    const doc: StoredSecurityEvent = { ...defined, _id: randomUUID(), at: new Date() };
    try {
      await this.events.insertOne(doc);
    } catch (err) {
      this.log.error({ err: { name: (err as Error).name }, event: event.type }, 'recording a security event failed');
    }
    if (this.also) {
      try {
        await this.also.record(defined);
      } catch (err) {
        this.log.error({ err: { name: (err as Error).name }, event: event.type }, 'auditing a security event failed');
      }
    }
  }

  /** The latest events of an account (the account's security page shows them). */
  async ofAccount(accountId: string, limit = 20): Promise<StoredSecurityEvent[]> {
    return this.events.find({ accountId }).sort({ at: -1 }).limit(limit).toArray();
  }
}
