// The names an AuditEvent shows besides the record: the OAuth client's display name and the FHIR
// resource of an account. They are looked up when events are built (off the request path) and
// kept for a minute, so a batch of a thousand reads by one app asks for its name once.
import type { AuditContext } from './audit-event-builder.ts';
import type { AuditRecord } from './audit-record.ts';

/** Names the builder shows: OAuth clients and the FHIR resources of accounts. */
export interface AuditDirectory {
  clientName(clientId: string): Promise<string | undefined>;
  accountFhirUser(accountId: string): Promise<string | undefined>;
}

/** Looked-up names are kept this long (a renamed client shows its new name within a minute). */
const NAME_TTL_MS = 60_000;
/** Names kept at most (a cache, not a copy of the directory). */
const MAX_NAMES = 10_000;

export class AuditNames {
  private readonly names = new Map<string, { value: string | undefined; at: number }>();

  constructor(
    private readonly directory: AuditDirectory,
    private readonly baseUrl: string,
  ) {}

  /** Resolves the client names and account resources the records name. */
  async contextFor(records: readonly AuditRecord[]): Promise<AuditContext> {
    const wanted = new Set<string>();
    for (const r of records) {
      const clientId = r.kind === 'rest' || r.kind === 'token' ? r.actor.clientId : r.kind === 'account' ? r.clientId : undefined;
      if (clientId) wanted.add(`client:${clientId}`);
      const accounts = r.kind === 'account' ? [r.accountId, r.actorAccountId] : r.kind === 'token' || r.kind === 'rest' ? [r.actor.fhirUser ? undefined : r.actor.accountId] : [];
      for (const a of accounts) if (a) wanted.add(`account:${a}`);
    }
    const now = Date.now();
    if (this.names.size > MAX_NAMES) this.names.clear();
    await Promise.all(
      [...wanted]
        .filter((key) => (this.names.get(key)?.at ?? 0) + NAME_TTL_MS < now)
        .map(async (key) => {
          const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
          const value = await (kind === 'client' ? this.directory.clientName(id) : this.directory.accountFhirUser(id)).catch(() => undefined);
          this.names.set(key, { value, at: now });
        }),
    );
    return {
      baseUrl: this.baseUrl,
      clientName: (id) => this.names.get(`client:${id}`)?.value,
      accountFhirUser: (id) => this.names.get(`account:${id}`)?.value,
    };
  }
}
