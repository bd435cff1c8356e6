// The one error type of FHIR code. Thrown anywhere below the HTTP layer; the HTTP layer's
// error middleware turns it into an OperationOutcome response with its status.
// See: https://hl7.org/fhir/R4/operationoutcome.html
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

export function issue(
  severity: IssueSeverity,
  code: IssueCode,
  diagnostics: string,
  expression?: string[],
): OperationOutcomeIssue {
  const out: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression && expression.length > 0) out.expression = expression;
  return out;
}

export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** An outcome that only informs (e.g. the result of a successful delete or $validate). */
export function informational(diagnostics: string): OperationOutcome {
  return outcome([issue('information', 'informational', diagnostics)]);
}

export class OperationOutcomeError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  /** Headers the response must carry (e.g. WWW-Authenticate on a 401). */
  headers?: Record<string, string>;

  constructor(status: number, issues: OperationOutcomeIssue[] | OperationOutcome) {
    const oo = Array.isArray(issues) ? outcome(issues) : issues;
    super(oo.issue.map((i) => i.diagnostics ?? i.code).join('; '));
    this.name = 'OperationOutcomeError';
    this.status = status;
    this.outcome = oo;
  }
}

// Shorthands for the errors the REST layer raises most; each names the FHIR issue code.
export const badRequest = (msg: string, expression?: string[]) =>
  new OperationOutcomeError(400, [issue('error', 'invalid', msg, expression)]);
export const notFound = (msg: string) => new OperationOutcomeError(404, [issue('error', 'not-found', msg)]);
export const gone = (msg: string) => new OperationOutcomeError(410, [issue('error', 'deleted', msg)]);
export const conflict = (msg: string) => new OperationOutcomeError(409, [issue('error', 'conflict', msg)]);
export const preconditionFailed = (msg: string) =>
  new OperationOutcomeError(412, [issue('error', 'conflict', msg)]);
export const notSupported = (msg: string) => new OperationOutcomeError(400, [issue('error', 'not-supported', msg)]);
export const methodNotAllowed = (msg: string) =>
  new OperationOutcomeError(405, [issue('error', 'not-supported', msg)]);
/** The database cannot be reached (down, restarting): the client should retry. */
export const databaseUnavailable = () =>
  new OperationOutcomeError(503, [issue('error', 'transient', 'The database is unavailable at the moment; try again shortly')]);
