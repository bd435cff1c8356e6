// What may be written to the log about an error: its class name, a driver's error code and code
// name, and its stack frames. Never its message: database errors quote the values they refused
// (MongoDB's `invalid value: { "value": +Inf }` came with a resource's content), and other
// messages can carry request data. Frames name functions and files only; the message lines at the
// top of a stack are dropped with the message.

export interface LoggableError {
  name: string;
  /** A driver's or Node's error code (MongoServerError 2, Z_DATA_ERROR), when it has one. */
  code?: string | number;
  /** MongoDB's name for the code (BadValue, DocumentTooLarge). */
  codeName?: string;
  /** Stack frames, "at function (file:line:column)", outermost last. */
  frames: string[];
}

const IDENTIFIER = /^[A-Za-z][\w.$-]{0,59}$/;

export function loggableError(err: unknown): LoggableError {
  if (typeof err !== 'object' || err === null) return { name: typeof err, frames: [] };
  const e = err as { name?: unknown; code?: unknown; codeName?: unknown; stack?: unknown };
  const out: LoggableError = {
    name: typeof e.name === 'string' && IDENTIFIER.test(e.name) ? e.name : 'Error',
    frames: [],
  };
  if (typeof e.code === 'number' || (typeof e.code === 'string' && IDENTIFIER.test(e.code))) out.code = e.code;
  if (typeof e.codeName === 'string' && IDENTIFIER.test(e.codeName)) out.codeName = e.codeName;
  if (typeof e.stack === 'string') {
    // V8 writes "Name: message" (the message may span lines) and then one "    at ..." line per frame.
    const message = (err as { message?: unknown }).message;
    const stack = typeof message === 'string' && message !== '' ? e.stack.replace(message, '') : e.stack;
    out.frames = stack
      .split('\n')
      .filter((line) => /^\s+at /.test(line))
      .map((line) => line.trim().slice(0, 300));
  }
  return out;
}
