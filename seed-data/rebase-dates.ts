// Moves a generated data set in time. The demo set is generated around a fixed reference date,
// so on a server started months later its "upcoming" appointments would all lie in the past.
// Shifting every date by whole weeks keeps the story intact: intervals, ages and weekdays stay
// the same, and prose ("Visit on 2026-03-02") moves with the structured dates.
import { DAY_MS } from './dates.ts';

// A calendar date, alone or starting a dateTime ("2026-11-16T17:00:00Z"). UUIDs (8-4-4-4-12 hex groups) cannot match because
// no 4-character group is followed by a 2-character one.
const DATE = /(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?!\d)/g;

/** Whole weeks from `from` to `to`, rounded down, so the shifted "now" never passes `to`. */
export function weeksBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / (7 * DAY_MS));
}

/** Shifts every YYYY-MM-DD (alone or starting a dateTime/instant) in a JSON text by `days`. */
export function shiftDatesInText(text: string, days: number): string {
  if (days === 0) return text;
  return text.replace(DATE, (match, y: string, m: string, d: string) => {
    const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    if (date.getUTCMonth() !== Number(m) - 1) return match; // not a real date; leave it alone
    return new Date(date.getTime() + days * DAY_MS).toISOString().slice(0, 10);
  });
}
