// Does a JSON number token survive being read into a 64-bit double and written out again?
// JSON.stringify writes the shortest decimal that reads back as the same double, so a token
// survives when its significant digits and magnitude equal those of that shortest form ("1.50",
// "15e-1" and "1.5" all do; "9007199254740993" and "0.10000000000000000001" do not).
// See: https://tc39.es/ecma262/#sec-numeric-types-number-tostring

interface Decimal {
  negative: boolean;
  /** Significant digits without leading or trailing zeros; "" for zero. */
  digits: string;
  /** The value is 0.digits × 10^exponent. */
  exponent: number;
}

/** A decimal string ("-12.50", "1e+21", "0.00120E-3") as digits and exponent. */
function decimalOf(text: string): Decimal {
  const negative = text.startsWith('-');
  const body = negative || text.startsWith('+') ? text.slice(1) : text;
  const e = body.search(/[eE]/);
  const mantissa = e < 0 ? body : body.slice(0, e);
  const exponent = e < 0 ? 0 : Number(body.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const whole = dot < 0 ? mantissa : mantissa.slice(0, dot);
  const all = dot < 0 ? mantissa : whole + mantissa.slice(dot + 1);
  let first = 0;
  while (first < all.length && all.charCodeAt(first) === 48) first++;
  let last = all.length;
  while (last > first && all.charCodeAt(last - 1) === 48) last--;
  return { negative, digits: all.slice(first, last), exponent: whole.length - first + exponent };
}

export function numberSurvivesDouble(token: string): boolean {
  const value = Number(token);
  if (!Number.isFinite(value)) return false;
  const sent = decimalOf(token);
  if (sent.digits === '') return true; // zero, also -0 and 0e999: the same value comes back
  const kept = decimalOf(String(value));
  return sent.digits === kept.digits && sent.exponent === kept.exponent && sent.negative === kept.negative;
}
