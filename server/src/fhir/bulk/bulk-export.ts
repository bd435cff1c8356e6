// Bulk Data export put together: the job store, the file store the configuration names, and this
// instance's worker. The kick-off ($export), the status URL and the file downloads use it.
// See: https://hl7.org/fhir/uv/bulkdata/export.html
import type { Db } from 'mongodb';
import type { BulkExportConfig } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { FhirServices } from '../router/services.ts';
import { DirectoryFileStore } from './directory-file-store.ts';
import type { ExportFileStore } from './export-file-store.ts';
import { ExportJobs } from './export-jobs.ts';
import { ExportWorker } from './export-worker.ts';
import { GridFsFileStore } from './gridfs-file-store.ts';
import { wantsKeyHints } from '../search/key-hints.ts';

export interface BulkExport {
  config: BulkExportConfig;
  jobs: ExportJobs;
  files: ExportFileStore;
  /** Starts this instance's worker (when BULK_EXPORT_WORKER), once the server is put together. */
  start(): void;
  /** Has this instance's worker look for work now. */
  wake(): void;
  /** Removes expired jobs and their files now (the worker also does it every minute). */
  sweep(): Promise<number>;
  /** Stops the worker: a job in progress is handed back after its current page. */
  stop(): Promise<void>;
}

export async function createBulkExport(
  db: Db,
  config: BulkExportConfig,
  services: FhirServices,
  log: Logger,
  clientExists: (clientId: string) => Promise<boolean>,
): Promise<BulkExport> {
  const jobs = new ExportJobs(db);
  await jobs.ensureIndexes();
  let files: ExportFileStore;
  if (config.fileStore === 'gridfs') {
    const gridfs = new GridFsFileStore(db);
    await gridfs.ensureIndexes();
    files = gridfs;
  } else {
    files = new DirectoryFileStore(config.fileDir);
  }
  const worker = new ExportWorker({
    services,
    jobs,
    files,
    log,
    pageSize: config.pageSize,
    fileMaxBytes: config.fileMaxBytes,
    leaseMs: config.leaseMs,
    keepMs: config.fileKeepMs,
    idRanges: await wantsKeyHints(db, 'auto'),
    clientExists,
    pollMs: config.workerPollMs,
  });
  return {
    config,
    jobs,
    files,
    start: () => config.worker && worker.start(),
    wake: () => config.worker && worker.wake(),
    sweep: () => worker.sweep(),
    stop: () => worker.stop(),
  };
}
