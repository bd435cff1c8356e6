// Where export files live: a small interface with two stores, MongoDB GridFS (the default: any
// instance serves any file) and a local directory (one instance, or a shared volume). A file of
// the manifest is a list of segments, each written whole once its page is done, so a job resumed
// by another instance continues after its last recorded segment and never writes a line twice.
import type { Readable } from 'node:stream';

export interface ExportFileStore {
  /** Stores one segment of a job (replacing a leftover of the same id from an interrupted run). */
  write(jobId: string, segmentId: string, data: Buffer): Promise<void>;
  /** Bytes [start, end) of a segment, streamed. */
  read(segmentId: string, start: number, end: number): Readable;
  /** Removes one segment (written by a worker that has since lost the job). */
  remove(segmentId: string): Promise<void>;
  /** Removes the job's segments, except those in `keep` (what its recorded progress refers to). */
  removeJob(jobId: string, keep?: ReadonlySet<string>): Promise<void>;
}

/** Segment ids start with their job's id, so a job's leftovers can be found without a record of them. */
export const segmentIdOf = (jobId: string, lease: string, sequence: number) => `${jobId}.${lease}.${sequence}`;
