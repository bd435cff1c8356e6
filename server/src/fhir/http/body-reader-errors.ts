// Failures of the body reader (express.raw: body-parser and raw-body): a body over the limit, an
// unsupported Content-Encoding, a body that is not what its Content-Encoding says (not gzip at all,
// truncated), an upload cut short. They carry an HTTP status (http-errors); every 4xx among them is
// the client's and is answered with that status, whatever the cause, so that a cause not listed
// here is not a 500. The status decides; the type only picks friendlier words.
import type { FhirResponse } from '../types.ts';
import { issue, outcome, type IssueCode } from '../outcome.ts';

interface BodyReaderError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  limit?: unknown;
}

function explanation(err: BodyReaderError, status: number): { code: IssueCode; text: string } {
  if (status === 413) {
    const limit = typeof err.limit === 'number' ? ` (at most ${err.limit} bytes)` : '';
    return { code: 'too-costly', text: `The request body is larger than this server accepts${limit}` };
  }
  if (err.type === 'encoding.unsupported') {
    return { code: 'not-supported', text: 'The Content-Encoding of the request body is not supported; send identity, gzip, deflate or br' };
  }
  if (err.type === 'charset.unsupported') {
    return { code: 'not-supported', text: 'The charset of the request body is not supported; FHIR requires UTF-8' };
  }
  if (err.type === 'request.aborted' || err.type === 'request.size.invalid') {
    return { code: 'incomplete', text: 'The request body ended before its declared length' };
  }
  return {
    code: 'invalid',
    text: 'The request body could not be read: it is not encoded as its Content-Encoding says, or was cut short',
  };
}

/** The response for a body reader's 4xx failure; undefined for anything else (a server fault). */
export function bodyReaderFailure(err: unknown): FhirResponse | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as BodyReaderError;
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  const { code, text } = explanation(e, status);
  return { status, body: outcome([issue('error', code, text)]) };
}
