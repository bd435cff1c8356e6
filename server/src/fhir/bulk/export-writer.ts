// Writes a job's pages into its files: each page's lines for a file become one segment, and the
// job's progress (files, counts, the next position) is recorded once all of a page's segments are
// stored. If the record fails (the job is no longer this worker's: cancelled, or its lease
// taken over), the page's segments are removed again, so nothing unrecorded stays behind.
import { segmentIdOf, type ExportFileStore } from './export-file-store.ts';
import type { ExportOutput, ExportProgress } from './export-job.ts';
import type { ExportJobs } from './export-jobs.ts';

export type OutputKind = 'resources' | 'error' | 'deleted';

export interface PagePart {
  type: string;
  kind: OutputKind;
  lines: string[];
}

export class ExportWriter {
  private sequence = 0;

  constructor(
    private readonly o: { jobId: string; lease: string; jobs: ExportJobs; files: ExportFileStore; fileMaxBytes: number; leaseMs: number },
    readonly progress: ExportProgress,
  ) {}

  /** The file lines of `type` go into: its last one, unless that is full. */
  private outputFor(type: string, kind: OutputKind): ExportOutput {
    const last = [...this.progress.outputs].reverse().find((o) => o.type === type && Boolean(o.error) === (kind === 'error') && Boolean(o.deleted) === (kind === 'deleted'));
    if (last && last.bytes < this.o.fileMaxBytes) return last;
    const created: ExportOutput = { type, count: 0, bytes: 0, segments: [] };
    if (kind !== 'resources') created[kind] = true;
    this.progress.outputs.push(created);
    return created;
  }

  /** The files already written of a type (a resumed job reads what it wrote). */
  outputsOf(type: string): ExportOutput[] {
    return this.progress.outputs.filter((o) => o.type === type && !o.error && !o.deleted);
  }

  /** Stores a page's parts and records the progress; false when the job is no longer ours. */
  async writePage(parts: PagePart[]): Promise<boolean> {
    const written: string[] = [];
    for (const part of merged(parts)) {
      if (part.lines.length === 0) continue;
      const output = this.outputFor(part.type, part.kind);
      const data = Buffer.from(`${part.lines.join('\n')}\n`, 'utf8');
      const id = segmentIdOf(this.o.jobId, this.o.lease, this.sequence++);
      await this.o.files.write(this.o.jobId, id, data);
      written.push(id);
      output.segments.push({ id, bytes: data.length });
      output.count += part.lines.length;
      output.bytes += data.length;
      if (part.kind === 'resources') this.progress.exported += part.lines.length;
    }
    if (await this.o.jobs.recordProgress(this.o.jobId, this.o.lease, this.progress, this.o.leaseMs)) return true;
    for (const id of written) await this.o.files.remove(id);
    return false;
  }
}

/** Parts of the same file as one part, so that a page of several reads is one segment per file. */
function merged(parts: PagePart[]): PagePart[] {
  const byFile = new Map<string, PagePart>();
  for (const part of parts) {
    const key = `${part.kind} ${part.type}`;
    const into = byFile.get(key);
    if (into) into.lines.push(...part.lines);
    else byFile.set(key, { ...part, lines: [...part.lines] });
  }
  return [...byFile.values()];
}

