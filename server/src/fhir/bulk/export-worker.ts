// The export worker every server instance runs: it claims one job at a time with an expiring
// lease (renewed while the job runs, so a job is never run twice at once), runs it, and, when
// the instance dies mid-job, another instance claims it once the lease has expired and resumes it
// from its last recorded page. It also sweeps expired jobs: their files, then the job.
import { isDatabaseUnavailable } from '../../db/database-unavailable.ts';
import type { Logger } from '../../logger.ts';
import { loggableError } from '../../loggable-error.ts';
import { OperationOutcomeError, issue, outcome } from '../outcome.ts';
import type { ExportFileStore } from './export-file-store.ts';
import type { ExportJobs } from './export-jobs.ts';
import { runExport, type ExportRunDependencies } from './export-runner.ts';

/** Claims of one job before it is given up as failed (each claim that ended in an error counts). */
const MAX_ATTEMPTS = 3;
/** How often expired jobs are swept: every minute, or sooner when files are kept less long. */
const SWEEP_MS = 60_000;

export interface ExportWorkerOptions extends ExportRunDependencies {
  pollMs: number;
  log: Logger;
}

export class ExportWorker {
  private timer?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly options: ExportWorkerOptions,
    private readonly jobs: ExportJobs = options.jobs,
    private readonly files: ExportFileStore = options.files,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
    this.sweeper = setInterval(() => void this.sweep(), Math.max(100, Math.min(SWEEP_MS, this.options.keepMs / 2)));
    this.sweeper.unref();
    this.wake();
  }

  /** Looks for work now (a kick-off on this instance need not wait for the next poll). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.work().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Stops claiming; a job in progress stops after its current page and is handed back. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.sweeper);
    await this.running;
  }

  private async work(): Promise<void> {
    const { log, leaseMs } = this.options;
    while (!this.stopped) {
      let claimed;
      try {
        claimed = await this.jobs.claim(leaseMs);
      } catch (err) {
        if (!isDatabaseUnavailable(err)) log.error({ err: loggableError(err) }, 'export: claiming a job failed');
        return;
      }
      if (!claimed) return;
      const { job, lease } = claimed;
      // The lease is renewed with every page; this keeps it while one page takes long.
      const renewal = setInterval(() => void this.jobs.renew(job._id, lease, leaseMs).catch(() => undefined), Math.max(500, leaseMs / 3));
      renewal.unref();
      try {
        const end = await runExport(this.options, job, lease, () => this.stopped);
        if (end === 'stopped' && this.stopped) await this.jobs.release(job._id, lease, 0);
        log.info({ job: job._id, end }, 'export job run ended');
      } catch (err) {
        await this.failed(job._id, lease, job.attempts, err);
      } finally {
        clearInterval(renewal);
      }
    }
  }

  /** A run that failed: given up with its outcome (a 4xx, or after a few tries), or handed back to retry. */
  private async failed(id: string, lease: string, attempts: number, err: unknown): Promise<void> {
    const { log, keepMs } = this.options;
    try {
      if (err instanceof OperationOutcomeError && err.status < 500) {
        await this.jobs.fail(id, lease, { status: err.status, outcome: err.outcome }, keepMs);
        return;
      }
      log.error({ job: id, attempts, err: loggableError(err) }, 'export job failed');
      if (attempts >= MAX_ATTEMPTS) {
        const oo = outcome([issue('fatal', 'exception', `The export failed ${attempts} times; start a new one (quote job ${id} when reporting it)`)]);
        await this.jobs.fail(id, lease, { status: 500, outcome: oo }, keepMs);
      } else {
        // Another try, here or on another instance, once the database is (probably) back.
        await this.jobs.release(id, lease, isDatabaseUnavailable(err) ? 5_000 : 1_000);
      }
    } catch (again) {
      // The database is away: the lease expires and the job is claimed again later.
      log.warn({ job: id, err: loggableError(again) }, 'export: recording a failure failed');
    }
  }

  /** Removes expired jobs: files first, then the job, so nothing is left without a record of it. */
  async sweep(): Promise<number> {
    let removed = 0;
    try {
      for (const job of await this.jobs.expired(100)) {
        await this.files.removeJob(job._id);
        await this.jobs.forget(job._id);
        removed++;
      }
    } catch (err) {
      if (!isDatabaseUnavailable(err)) this.options.log.error({ err: loggableError(err) }, 'export: sweeping expired jobs failed');
    }
    return removed;
  }
}
