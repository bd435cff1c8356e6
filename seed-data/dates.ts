// Date arithmetic in UTC only: local time zones would make output differ between machines.

export const DAY_MS = 24 * 60 * 60 * 1000;

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

export function addMinutes(date: Date, minutes: number): Date {
  return new Date(date.getTime() + minutes * 60 * 1000);
}

/** Adds calendar months, clamping to the end of shorter months (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

export function addYears(date: Date, years: number): Date {
  return addMonths(date, years * 12);
}

/** FHIR `date`: YYYY-MM-DD. */
export function fhirDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** FHIR `dateTime`/`instant` in UTC without milliseconds, e.g. 2026-11-16T14:30:00Z. */
export function fhirDateTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Midnight UTC of the same day. */
export function startOfDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** Moves a weekend day to the following Monday: the clinic sees patients on weekdays only. */
export function toWeekday(date: Date): Date {
  const dow = date.getUTCDay();
  if (dow === 6) return addDays(date, 2);
  if (dow === 0) return addDays(date, 1);
  return date;
}

/** Whole years between two dates (age). */
export function yearsBetween(from: Date, to: Date): number {
  let years = to.getUTCFullYear() - from.getUTCFullYear();
  const m = to.getUTCMonth() - from.getUTCMonth();
  if (m < 0 || (m === 0 && to.getUTCDate() < from.getUTCDate())) years -= 1;
  return years;
}

export function monthsBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / (30.4375 * DAY_MS);
}

/**
 * A time of day in clinic hours. The clinic is in US Pacific time; appointments run from
 * 08:00 to 16:40 local, written in UTC (16:00–00:40Z in winter) so output never depends on the
 * machine's time zone.
 */
export function atClinicTime(day: Date, slot: number): Date {
  // slot 0..26 = 20-minute slots from 08:00 local (UTC-8).
  return addMinutes(startOfDay(day), (8 + 8) * 60 + slot * 20);
}
