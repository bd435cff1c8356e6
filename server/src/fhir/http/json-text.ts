// A response body as JSON text, written without holding the event loop for long: a Bundle of a
// thousand entries (and as many included) is ten megabytes of JSON, and one JSON.stringify of it
// kept every other request (health checks, reads) waiting for a tenth of a second. A body with a
// long array (a Bundle's entry) is serialised element by element, giving way to other work
// between slices; the text is the same as JSON.stringify(body, null, pretty ? 2 : undefined).
import { TimeSlices } from '../time-slices.ts';

/** Arrays at least this long are serialised element by element. */
const LONG_ARRAY = 64;
/** Text per piece handed to the socket (fewer, larger writes). */
const PIECE_CHARS = 64 * 1024;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** True when the body has an array long enough to be worth serialising in slices. */
export function isLargeBody(body: unknown): body is Record<string, unknown> {
  return isPlainObject(body) && Object.values(body).some((v) => Array.isArray(v) && v.length >= LONG_ARRAY);
}

/**
 * The JSON text of `body` in pieces (joined, they equal JSON.stringify's text). The elements of
 * its long top-level arrays are serialised one by one, giving other work a turn between slices.
 */
export async function jsonPieces(body: Record<string, unknown>, pretty: boolean): Promise<string[]> {
  const indent = pretty ? 2 : undefined;
  /** JSON of a value nested `depth` levels deep, as JSON.stringify would indent it there. */
  const nested = (value: unknown, depth: number): string | undefined => {
    const text = JSON.stringify(value, null, indent) as string | undefined;
    return pretty && text !== undefined ? text.replaceAll('\n', `\n${'  '.repeat(depth)}`) : text;
  };
  const nl = (depth: number) => (pretty ? `\n${'  '.repeat(depth)}` : '');
  const pieces: string[] = [];
  let current = '';
  const emit = (text: string) => {
    current += text;
    if (current.length >= PIECE_CHARS) {
      pieces.push(current);
      current = '';
    }
  };
  const slices = new TimeSlices();

  emit('{');
  let first = true;
  for (const [key, value] of Object.entries(body)) {
    if (!Array.isArray(value) || value.length < LONG_ARRAY) {
      const text = nested(value, 1);
      if (text === undefined) continue; // undefined and functions are left out, as JSON.stringify does
      emit(`${first ? '' : ','}${nl(1)}${JSON.stringify(key)}:${pretty ? ' ' : ''}${text}`);
      first = false;
      continue;
    }
    emit(`${first ? '' : ','}${nl(1)}${JSON.stringify(key)}:${pretty ? ' ' : ''}[`);
    first = false;
    for (let i = 0; i < value.length; i++) {
      emit(`${i === 0 ? '' : ','}${nl(2)}${nested(value[i], 2) ?? 'null'}`);
      await slices.pause();
    }
    emit(`${nl(1)}]`);
  }
  emit(first ? '}' : `${nl(0)}}`);
  pieces.push(current);
  return pieces;
}
