// Downloads one file of a manifest to disk, resuming a partial download with a byte range (the
// server's ETag in If-Range, so a changed file is fetched whole), and counts its NDJSON lines.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Token } from './export-session.ts';

export interface Downloaded {
  file: string;
  bytes: number;
  lines: number;
  resumedFrom: number;
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of fs.createReadStream(file)) for (const byte of chunk as Buffer) if (byte === 0x0a) lines++;
  return lines;
}

/**
 * Fetches `url` into `file`. A `file.part` left by an interrupted run is continued from its size;
 * the file gets its final name only when complete.
 */
export async function downloadFile(url: string, file: string, token: Token, requiresAccessToken: boolean): Promise<Downloaded> {
  const part = `${file}.part`;
  const etagFile = `${file}.etag`;
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const etag = fs.existsSync(etagFile) ? fs.readFileSync(etagFile, 'utf8') : undefined;
  const headers: Record<string, string> = {};
  if (requiresAccessToken) headers.authorization = `Bearer ${await token()}`;
  if (have > 0 && etag) Object.assign(headers, { range: `bytes=${have}-`, 'if-range': etag });
  const res = await fetch(url, { headers });
  if (res.status === 416) {
    // The part is already whole.
  } else if (res.status === 200 || res.status === 206) {
    if (res.status === 200) have = 0;
    const tag = res.headers.get('etag');
    if (tag) fs.writeFileSync(etagFile, tag);
    await pipeline(Readable.fromWeb(res.body as never), fs.createWriteStream(part, { flags: res.status === 206 ? 'a' : 'w' }));
  } else {
    throw new Error(`${url} answered ${res.status}`);
  }
  fs.renameSync(part, file);
  fs.rmSync(etagFile, { force: true });
  return { file, bytes: fs.statSync(file).size, lines: await countLines(file), resumedFrom: have };
}
