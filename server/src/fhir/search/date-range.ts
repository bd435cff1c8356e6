// FHIR dates are ranges: "2024-03" is all of March 2024. Both stored values and search values are
// turned into [lo, hi] instants (inclusive, millisecond resolution) by the same parser.
// See: https://hl7.org/fhir/R4/search.html#date and https://hl7.org/fhir/R4/datatypes.html#dateTime

export interface InstantRange {
  lo: number;
  hi: number;
}

/** Bounds used for open ends of a Period (the largest range a JS Date / BSON date can hold). */
export const MIN_INSTANT = -8640000000000000;
export const MAX_INSTANT = 8640000000000000;

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses a FHIR date, dateTime or instant (search values may omit seconds) into the range it
 * denotes. Times without a zone are taken as UTC. Returns undefined for anything malformed,
 * including impossible calendar dates such as 2024-13-45.
 */
export function parseDateRange(text: string): InstantRange | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, tz] = m;
  const year = Number(ys);
  const month = mos ? Number(mos) : 1;
  const day = ds ? Number(ds) : 1;
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  const hour = hs ? Number(hs) : 0;
  const minute = mis ? Number(mis) : 0;
  const second = ss ? Number(ss) : 0;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMs = 0;
  if (tz && tz !== 'Z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const [th, tm] = tz.slice(1).split(':').map(Number);
    if (th > 14 || tm > 59) return undefined;
    offsetMs = sign * (th * 60 + tm) * 60000;
  }
  const base = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => {
    const date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear keeps years < 100 literal
    date.setUTCHours(h, mi, s, ms);
    return date.getTime() - offsetMs;
  };
  if (!mos) return { lo: base(year, 1, 1), hi: base(year + 1, 1, 1) - 1 };
  if (!ds) return { lo: base(year, month, 1), hi: base(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) - 1 };
  if (!hs) {
    const lo = base(year, month, day);
    return { lo, hi: lo + 86400000 - 1 };
  }
  if (!ss) {
    const lo = base(year, month, day, hour, minute);
    return { lo, hi: lo + 60000 - 1 };
  }
  if (!frac) {
    const lo = base(year, month, day, hour, minute, second);
    return { lo, hi: lo + 1000 - 1 };
  }
  const digits = frac.slice(0, 3);
  const ms = Number(digits.padEnd(3, '0'));
  const lo = base(year, month, day, hour, minute, second, ms);
  return { lo, hi: lo + 10 ** (3 - digits.length) - 1 };
}
