// Export files in a local directory (BULK_FILE_STORE=directory): one folder per job, one file per
// segment, written under a temporary name and renamed, so a crash never leaves half a segment
// under its real name. Only the instances that share the directory can serve its files.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ExportFileStore } from './export-file-store.ts';

export class DirectoryFileStore implements ExportFileStore {
  constructor(private readonly dir: string) {}

  private jobDir(jobId: string): string {
    return path.join(this.dir, jobId);
  }

  private fileOf(segmentId: string): string {
    return path.join(this.jobDir(segmentId.split('.')[0]), segmentId);
  }

  async write(jobId: string, segmentId: string, data: Buffer): Promise<void> {
    await fs.promises.mkdir(this.jobDir(jobId), { recursive: true });
    const file = this.fileOf(segmentId);
    const temporary = `${file}.partial`;
    await fs.promises.writeFile(temporary, data);
    await fs.promises.rename(temporary, file);
  }

  read(segmentId: string, start: number, end: number): Readable {
    return fs.createReadStream(this.fileOf(segmentId), { start, end: end - 1 });
  }

  async remove(segmentId: string): Promise<void> {
    await fs.promises.rm(this.fileOf(segmentId), { force: true });
  }

  async removeJob(jobId: string, keep: ReadonlySet<string> = new Set()): Promise<void> {
    const dir = this.jobDir(jobId);
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch {
      return;
    }
    for (const name of names) if (!keep.has(name)) await fs.promises.rm(path.join(dir, name), { force: true });
    if (keep.size === 0) await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
