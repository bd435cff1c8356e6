// EHR launch: a staff app creates a `launch` value bound to a patient (and optionally an
// encounter), opens the SMART app with it, and the app sends it back in its authorization request;
// the tokens it gets then carry that context. Values are single-purpose bearer secrets: stored
// hashed, valid for an hour.
// See: https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch
import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { hashId } from './oidc-adapter.ts';

export const LAUNCHES_COLLECTION = 'auth_launches';
const LAUNCH_TTL_MS = 60 * 60 * 1000;

export interface LaunchContext {
  patient: string;
  encounter?: string;
  /** Who created it (account id or client id). */
  createdBy: string;
}

interface LaunchDocument extends LaunchContext {
  _id: string;
  expiresAt: Date;
}

export class LaunchContexts {
  private readonly launches: Collection<LaunchDocument>;

  constructor(db: Db) {
    this.launches = db.collection<LaunchDocument>(LAUNCHES_COLLECTION);
  }

  /** A new launch value for the context (returned once; only its hash is stored). */
  async create(context: LaunchContext): Promise<{ launch: string; expiresAt: Date }> {
    const launch = randomBytes(24).toString('base64url');
    const expiresAt = new Date(Date.now() + LAUNCH_TTL_MS);
    await this.launches.insertOne({ _id: hashId(launch), ...context, expiresAt });
    return { launch, expiresAt };
  }

  async find(launch: string): Promise<LaunchContext | undefined> {
    const doc = await this.launches.findOne({ _id: hashId(launch) });
    if (!doc || doc.expiresAt.getTime() <= Date.now()) return undefined;
    return { patient: doc.patient, encounter: doc.encounter, createdBy: doc.createdBy };
  }

  async sweep(): Promise<void> {
    await this.launches.deleteMany({ expiresAt: { $lte: new Date() } });
  }
}
