// Export jobs in MongoDB, shared by every server instance. The database has no transactions or
// TTL indexes on FerretDB 1.x, so every change of hands is one atomic findOneAndUpdate/updateOne
// whose condition says who may make it (the lease owner, the job's client), and expiry is a
// condition in each query plus a periodic sweep (export-worker.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from '../../db/write-errors.ts';
import { EXPORT_JOBS_COLLECTION, type ExportJobDocument, type ExportProgress } from './export-job.ts';

const NO_LEASE = new Date(0);
const ACTIVE: ExportJobDocument['status'][] = ['queued', 'running'];

export type NewExportJob = Pick<ExportJobDocument, 'clientId' | 'scope' | 'level' | 'group' | 'request' | 'parameters' | 'transactionTime'>;

/**
 * The right to take over one lease of a job: `${jobId}/${the lease's end, in ms}`. Inserting it is
 * atomic on every database (a unique _id); a conditional update is not on FerretDB 1.x, whose
 * findAndModify reads and then writes. So of several workers that find the same expired lease,
 * exactly one inserts its claim and takes the job.
 */
interface LeaseClaim {
  _id: string;
  job: string;
  at: Date;
}

export const EXPORT_CLAIMS_COLLECTION = 'bulk_export_claims';

export class ExportJobs {
  private readonly jobs: Collection<ExportJobDocument>;
  private readonly claims: Collection<LeaseClaim>;

  constructor(db: Db) {
    this.jobs = db.collection<ExportJobDocument>(EXPORT_JOBS_COLLECTION);
    this.claims = db.collection<LeaseClaim>(EXPORT_CLAIMS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.jobs.createIndex({ status: 1, leaseUntil: 1 }, { name: 'status_lease' });
    await this.jobs.createIndex({ clientId: 1, status: 1 }, { name: 'client_status' });
    await this.jobs.createIndex({ expiresAt: 1 }, { name: 'expires' });
    await this.claims.createIndex({ job: 1 }, { name: 'job' });
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

  /** Deletes the job's document (and its lease claims), once its files are gone. */
  async forget(id: string): Promise<void> {
    await this.claims.deleteMany({ job: id });
    await this.jobs.deleteOne({ _id: id });
  }

  /** Claims the oldest job that is queued, or running with an expired lease (its worker died). */
  async claim(leaseMs: number): Promise<{ job: ExportJobDocument; lease: string } | undefined> {
    const now = new Date();
    const candidate = await this.jobs.findOne({ status: { $in: ACTIVE }, leaseUntil: { $lt: now } }, { sort: { createdAt: 1 } });
    if (!candidate) return undefined;
    const claimId = `${candidate._id}/${candidate.leaseUntil.getTime()}`;
    if (!(await this.insertClaim(claimId, candidate._id, leaseMs))) return undefined; // another worker took it
    const lease = randomUUID();
    const res = await this.jobs.updateOne(
      { _id: candidate._id, leaseUntil: candidate.leaseUntil, status: { $in: ACTIVE } },
      { $set: { status: 'running', leaseOwner: lease, leaseUntil: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
    );
    if (res.matchedCount !== 1) return undefined; // cancelled meanwhile
    const job = await this.jobs.findOne({ _id: candidate._id, leaseOwner: lease });
    return job ? { job, lease } : undefined;
  }

  /** Inserts a lease claim; a claim left by a worker that died before using it is replaced once it is old. */
  private async insertClaim(id: string, job: string, leaseMs: number): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.claims.insertOne({ _id: id, job, at: new Date() });
        return true;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const stale = await this.claims.deleteOne({ _id: id, at: { $lt: new Date(Date.now() - leaseMs) } });
        if (stale.deletedCount !== 1) return false;
      }
    }
    return false;
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
