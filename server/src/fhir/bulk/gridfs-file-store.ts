// Export files in MongoDB GridFS (bucket "bulk"): the default store, so that every server
// instance can serve every file. Segments are GridFS files whose _id is the segment id.
// See: https://www.mongodb.com/docs/manual/core/gridfs/
import { Readable } from 'node:stream';
import { GridFSBucket, type Binary, type Db } from 'mongodb';
import type { ExportFileStore } from './export-file-store.ts';

const BUCKET = 'bulk';

export class GridFsFileStore implements ExportFileStore {
  private readonly bucket: GridFSBucket;

  constructor(private readonly db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: BUCKET });
  }

  async write(jobId: string, segmentId: string, data: Buffer): Promise<void> {
    await this.removeSegment(segmentId);
    await new Promise<void>((resolve, reject) => {
      const upload = this.bucket.openUploadStreamWithId(segmentId as never, segmentId, { metadata: { job: jobId } });
      upload.once('error', reject);
      upload.once('finish', () => resolve());
      upload.end(data);
    });
  }

  /**
   * Read here rather than with the driver's download stream: its chunk query
   * ({files_id, n: {$gte}}) is one FerretDB 1.x cannot narrow with an index, so each read decoded
   * every chunk of every export (0.15 s per segment with 40 segments stored). A segment is a page
   * of NDJSON, a few chunks: they are read by files_id alone and put in order here.
   */
  read(segmentId: string, start: number, end: number): Readable {
    const chunks = this.db.collection<{ files_id: string; n: number; data: Binary }>(`${BUCKET}.chunks`);
    return Readable.from(
      (async function* () {
        const docs = await chunks.find({ files_id: segmentId }, { projection: { n: 1, data: 1 } }).toArray();
        docs.sort((a, b) => a.n - b.n);
        let offset = 0;
        for (const doc of docs) {
          const bytes = Buffer.from(doc.data.buffer);
          const from = Math.max(start - offset, 0);
          const to = Math.min(end - offset, bytes.length);
          if (from < to) yield bytes.subarray(from, to);
          offset += bytes.length;
          if (offset >= end) return;
        }
      })(),
    );
  }

  async removeJob(jobId: string, keep: ReadonlySet<string> = new Set()): Promise<void> {
    // The chunks too, by id: an upload cut short by a crash has chunks but no file document. The
    // job's segment ids are the strings from "<job>." up to "<job>/" ('/' follows '.'): a range
    // the database answers from its index (a regex would read every chunk of every export).
    const range = { $gte: `${jobId}.`, $lt: `${jobId}/` };
    const files = await this.db.collection(`${BUCKET}.files`).find({ _id: range as never }, { projection: { _id: 1 } }).toArray();
    const chunkIds = await this.db.collection(`${BUCKET}.chunks`).distinct('files_id', { files_id: range });
    const ids = new Set([...files.map((f) => String(f._id)), ...chunkIds.map(String)]);
    for (const id of ids) if (!keep.has(id)) await this.removeSegment(id);
  }

  async remove(id: string): Promise<void> {
    await this.removeSegment(id);
  }

  private async removeSegment(id: string): Promise<void> {
    await this.db.collection(`${BUCKET}.files`).deleteOne({ _id: id as never });
    await this.db.collection(`${BUCKET}.chunks`).deleteMany({ files_id: id });
  }

  async ensureIndexes(): Promise<void> {
    // The index GridFS readers use; the driver creates it on first upload, but only on an empty bucket.
    await this.db.collection(`${BUCKET}.chunks`).createIndex({ files_id: 1, n: 1 }, { unique: true, name: 'files_id_n' });
  }
}
