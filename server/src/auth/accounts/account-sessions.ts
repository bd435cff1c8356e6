// Sign-in sessions of the clinic's pages (the account pages and the sign-in step of every app
// authorization). The cookie holds a random id; the database holds only its hash, so a copy of
// the database cannot be used to sign in. A session ends after `idleMinutes` without activity or
// `maxHours` after sign-in, whichever comes first; a half-finished sign-in (password given,
// second factor still to come) lasts ten minutes. oidc-provider's own session follows this one
// (provider.ts asks for a new sign-in when it has ended).
import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { hashSecret } from './one-time-secrets.ts';

export const ACCOUNT_SESSIONS_COLLECTION = 'account_sessions';
/** The cookie that holds the session id. */
export const SESSION_COOKIE = 'hr_session';

/** complete: signed in. second-factor: the password was right, a second factor must follow. totp-setup: … and must be set up first. */
export type SessionStage = 'complete' | 'second-factor' | 'totp-setup';

const PARTIAL_MS = 10 * 60_000;
/** lastSeenAt is written at most this often (every request would be a write otherwise). */
const TOUCH_MS = 60_000;

export interface SessionDocument {
  _id: string;
  accountId: string;
  stage: SessionStage;
  /** How the person proved who they are (RFC 8176 values: pwd, otp, hwk, mfa, …). */
  amr: string[];
  authTime: Date;
  createdAt: Date;
  lastSeenAt: Date;
  /** The absolute end (sign-in + maxHours, or + 10 minutes while partial). */
  expiresAt: Date;
  /** A TOTP seed being set up, sealed, until the person confirms it with a code. */
  pendingTotp?: string;
  /** Recovery codes to show once, right after they were made (sealed). */
  pendingRecoveryCodes?: string;
}

export interface ActiveSession extends SessionDocument {
  /** The cookie value (never stored). */
  token: string;
}

export class AccountSessions {
  private readonly sessions: Collection<SessionDocument>;

  constructor(
    db: Db,
    private readonly limits: { idleMinutes: number; maxHours: number },
  ) {
    this.sessions = db.collection<SessionDocument>(ACCOUNT_SESSIONS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.sessions.createIndex({ accountId: 1 }, { name: 'accountId' });
  }

  async create(accountId: string, stage: SessionStage, amr: string[]): Promise<ActiveSession> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + (stage === 'complete' ? this.limits.maxHours * 3_600_000 : PARTIAL_MS));
    const doc: SessionDocument = { _id: hashSecret(token), accountId, stage, amr, authTime: now, createdAt: now, lastSeenAt: now, expiresAt };
    await this.sessions.insertOne(doc);
    return { ...doc, token };
  }

  /** The session of a cookie value, when it has not ended; counts as activity. */
  async find(token: string | undefined): Promise<ActiveSession | undefined> {
    if (!token || token.length > 100) return undefined;
    const doc = await this.sessions.findOne({ _id: hashSecret(token) });
    if (!doc) return undefined;
    const now = Date.now();
    const idleEnd = doc.lastSeenAt.getTime() + this.limits.idleMinutes * 60_000;
    if (doc.expiresAt.getTime() <= now || idleEnd <= now) {
      await this.sessions.deleteOne({ _id: doc._id });
      return undefined;
    }
    if (now - doc.lastSeenAt.getTime() > TOUCH_MS) {
      doc.lastSeenAt = new Date(now);
      await this.sessions.updateOne({ _id: doc._id }, { $set: { lastSeenAt: doc.lastSeenAt } });
    }
    return { ...doc, token };
  }

  /**
   * The second factor is done: a new session (new id, so that an id seen before sign-in is
   * worthless after it) with the full lifetime; the partial one ends.
   */
  async complete(partial: ActiveSession, amr: string[]): Promise<ActiveSession> {
    await this.sessions.deleteOne({ _id: partial._id });
    const session = await this.create(partial.accountId, 'complete', amr);
    return session;
  }

  async set(session: ActiveSession, fields: Partial<Pick<SessionDocument, 'stage' | 'pendingTotp' | 'pendingRecoveryCodes'>>, unset: Array<'pendingTotp' | 'pendingRecoveryCodes'> = []): Promise<void> {
    const update: Record<string, unknown> = {};
    if (Object.keys(fields).length > 0) update.$set = fields;
    if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((k) => [k, '']));
    if (Object.keys(update).length > 0) await this.sessions.updateOne({ _id: session._id }, update);
  }

  async end(token: string | undefined): Promise<SessionDocument | undefined> {
    if (!token) return undefined;
    // findOne + deleteOne rather than findOneAndDelete: on the local database (FerretDB 1.24 on
    // SQLite) a findAndModify that removes was seen to leave later operations waiting.
    const doc = await this.sessions.findOne({ _id: hashSecret(token) });
    if (doc) await this.sessions.deleteOne({ _id: doc._id });
    return doc ?? undefined;
  }

  /** Ends every session of an account but the one given (password change, reset, lost device). */
  async endAllOf(accountId: string, except?: ActiveSession): Promise<number> {
    const filter = except ? { accountId, _id: { $ne: except._id } } : { accountId };
    return (await this.sessions.deleteMany(filter)).deletedCount;
  }

  async sweep(): Promise<void> {
    await this.sessions.deleteMany({ expiresAt: { $lte: new Date() } });
    await this.sessions.deleteMany({ lastSeenAt: { $lte: new Date(Date.now() - this.limits.idleMinutes * 60_000) } });
  }
}
