// Parsing of FHIR instants given as request parameters (_since, _at).
import { badRequest } from '../outcome.ts';

const INSTANT =
  /^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?)?)?)?$/;

/** A FHIR date or dateTime as a Date (its earliest moment); malformed values are a 400. */
export function parseFhirInstant(value: string, name: string): Date {
  const m = INSTANT.exec(value);
  if (!m) throw badRequest(`${name} must be a FHIR instant such as 2024-03-01T10:00:00Z, got "${value.slice(0, 40)}"`, [name]);
  let iso = value;
  if (!m[2]) iso = `${value}-01-01`;
  else if (!m[4]) iso = `${value}-01`;
  if (m[6] && !m[11]) iso = `${iso}Z`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw badRequest(`${name} is not a real date: "${value.slice(0, 40)}"`, [name]);
  return d;
}
