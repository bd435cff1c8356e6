// Sign-ins and account changes in the audit trail. The accounts keep their own security events
// (auth/accounts/security-events.ts: the account's security page lists them); the same events go
// to the trail through this adapter, which has that module's SecurityEvents shape:
//
//   const events = new StoredSecurityEvents(db, log);             // the account's own list
//   const audited = accountAuditEvents(services.audit);           // the trail
//   record(event) { await events.record(event); await audited.record(event); }
//
// Events carry no passwords, codes or tokens (the accounts module already leaves them out), and
// no email address either: the account id names who it was.

import type { AccountEventFacts, AuditRecorder } from './audit-record.ts';

/** A security event as auth/accounts records it. */
export interface AccountSecurityEvent extends AccountEventFacts {
  /** sign-in, sign-in-failed, sign-out, locked, password-changed, app-revoked, … */
  type: string;
}

/** The accounts' SecurityEvents interface, recording into the audit trail. */
export function accountAuditEvents(audit: AuditRecorder): { record(event: AccountSecurityEvent): Promise<void> } {
  return {
    async record(event) {
      audit.record({
        kind: 'account',
        at: new Date(),
        event: event.type.slice(0, 60),
        ...(event.accountId ? { accountId: event.accountId } : {}),
        ...(event.actorAccountId ? { actorAccountId: event.actorAccountId } : {}),
        ...(event.address ? { address: event.address.slice(0, 100) } : {}),
        ...(event.method ? { method: event.method.slice(0, 60) } : {}),
        ...(event.reason ? { reason: event.reason.slice(0, 200) } : {}),
        ...(event.clientId ? { clientId: event.clientId.slice(0, 100) } : {}),
        ...(event.subject ? { subject: event.subject.slice(0, 200) } : {}),
      });
    },
  };
}
