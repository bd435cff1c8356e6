// Export jobs in MongoDB, shared by every server instance. The database has no transactions or
// TTL indexes on FerretDB 1.x, so every change of hands is one atomic findOneAndUpdate/updateOne
// whose condition says who may make it (the lease owner, the job's client), and expiry is a
// condition in each query plus a periodic sweep (export-worker.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { EXPORT_JOBS_COLLECTION, type ExportJobDocument, type ExportProgress } from './export-job.ts';

const NO_LEASE = new Date(0);
const ACTIVE: ExportJobDocument['status'][] = ['queued', 'running'];

export type NewExportJob = Pick<ExportJobDocument, 'clientId' | 'scope' | 'level' | 'group' | 'request' | 'parameters' | 'transactionTime'>;

export class ExportJobs {
  private readonly jobs: Collection<ExportJobDocument>;

  constructor(db: Db) {
    this.jobs = db.collection<ExportJobDocument>(EXPORT_JOBS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.jobs.createIndex({ status: 1, leaseUntil: 1 }, { name: 'status_lease' });
    await this.jobs.createIndex({ clientId: 1, status: 1 }, { name: 'client_status' });
    await this.jobs.createIndex({ expiresAt: 1 }, { name: 'expires' });
  }

  /**
   * Queues a job unless the client already has `limit` queued or running: the job is inserted
   * first and counted after, so two kick-offs racing each other cannot both slip under the limit
   * (at worst both are refused and retry).
   */
  async create(job: NewExportJob, limit: number): Promise<ExportJobDocument | undefined> {
    const doc: ExportJobDocument = {
      // 128 random bits: the id is in the status and file URLs.
      _id: randomBytes(16).toString('hex'),
      ...job,
      status: 'queued',
      createdAt: new Date(),
      leaseUntil: NO_LEASE,
      attempts: 0,
      progress: { step: 0, exported: 0, outputs: [] },
    };
    if (doc.group === undefined) delete doc.group;
    await this.jobs.insertOne(doc);
    const active = await this.jobs.countDocuments({ clientId: job.clientId, status: { $in: ACTIVE } });
    if (active > limit) {
      await this.jobs.deleteOne({ _id: doc._id });
      return undefined;
    }
    return doc;
  }

  /** The job of this client, unless it has expired. */
  async get(id: string, clientId: string): Promise<ExportJobDocument | undefined> {
    const job = await this.jobs.findOne({ _id: id, clientId });
    if (!job || (job.expiresAt && job.expiresAt.getTime() <= Date.now())) return undefined;
    return job;
  }

  /** Records a status request; returns the job as it was before (its previous polledAt). */
  async poll(id: string, clientId: string): Promise<ExportJobDocument | undefined> {
    const job = await this.jobs.findOneAndUpdate({ _id: id, clientId }, { $set: { polledAt: new Date() } }, { returnDocument: 'before' });
    if (!job || (job.expiresAt && job.expiresAt.getTime() <= Date.now())) return undefined;
    return job;
  }

  /**
   * Cancels or deletes the job of this client: it expires now (polls and downloads answer 404 at
   * once) and loses its lease (its worker stops at its next page); the sweep, or the caller right
   * after, removes its files and then the job. False when there is no such job.
   */
  async expireNow(id: string, clientId: string): Promise<boolean> {
    const now = new Date();
    const res = await this.jobs.updateOne(
      { _id: id, clientId, $or: [{ expiresAt: { $exists: false } }, { expiresAt: { $gt: now } }] },
      { $set: { expiresAt: now, leaseOwner: 'expired', leaseUntil: new Date(8.64e15) } },
    );
    return res.matchedCount === 1;
  }

  /** Deletes the job's document, once its files are gone. */
  async forget(id: string): Promise<void> {
    await this.jobs.deleteOne({ _id: id });
  }

  /** Claims the oldest job that is queued, or running with an expired lease (its worker died). */
  async claim(leaseMs: number): Promise<{ job: ExportJobDocument; lease: string } | undefined> {
    const lease = randomUUID();
    const now = new Date();
    const job = await this.jobs.findOneAndUpdate(
      { status: { $in: ACTIVE }, leaseUntil: { $lt: now } },
      { $set: { status: 'running', leaseOwner: lease, leaseUntil: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
      { sort: { createdAt: 1 }, returnDocument: 'after' },
    );
    return job ? { job, lease } : undefined;
  }

  /** Extends the lease; false when it is no longer ours (expired and claimed, or the job is gone). */
  async renew(id: string, lease: string, leaseMs: number): Promise<boolean> {
    const res = await this.jobs.updateOne({ _id: id, leaseOwner: lease, status: 'running' }, { $set: { leaseUntil: new Date(Date.now() + leaseMs) } });
    return res.matchedCount === 1;
  }

  /** Records a finished page (and renews the lease); false when the job is no longer ours. */
  async recordProgress(id: string, lease: string, progress: ExportProgress, leaseMs: number): Promise<boolean> {
    const res = await this.jobs.updateOne(
      { _id: id, leaseOwner: lease, status: 'running' },
      { $set: { progress, leaseUntil: new Date(Date.now() + leaseMs) } },
    );
    return res.matchedCount === 1;
  }

  async complete(id: string, lease: string, progress: ExportProgress, keepMs: number): Promise<boolean> {
    const now = new Date();
    const res = await this.jobs.updateOne(
      { _id: id, leaseOwner: lease, status: 'running' },
      { $set: { status: 'completed', progress, completedAt: now, expiresAt: new Date(now.getTime() + keepMs), leaseUntil: NO_LEASE } },
    );
    return res.matchedCount === 1;
  }

  async fail(id: string, lease: string, failure: NonNullable<ExportJobDocument['failure']>, keepMs: number): Promise<boolean> {
    const now = new Date();
    const res = await this.jobs.updateOne(
      { _id: id, leaseOwner: lease, status: 'running' },
      { $set: { status: 'failed', failure, completedAt: now, expiresAt: new Date(now.getTime() + keepMs), leaseUntil: NO_LEASE } },
    );
    return res.matchedCount === 1;
  }

  /** Hands a job back after a passing failure (the database away): it is claimed again after `delayMs`. */
  async release(id: string, lease: string, delayMs: number): Promise<void> {
    await this.jobs.updateOne({ _id: id, leaseOwner: lease, status: 'running' }, { $set: { leaseUntil: new Date(Date.now() + delayMs) } });
  }

  /** Jobs whose files have expired, for the sweep. */
  async expired(limit: number): Promise<Array<Pick<ExportJobDocument, '_id' | 'clientId'>>> {
    return this.jobs.find({ expiresAt: { $lte: new Date() } }, { projection: { _id: 1, clientId: 1 }, limit }).toArray();
  }
}
