// FHIR search value escaping: "\," "\$" "\|" and "\\" stand for the literal characters.
// See: https://hl7.org/fhir/R4/search.html#escaping

/** Splits at every unescaped separator; the parts keep their escapes. */
export function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      current += ch + value[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** Removes search escapes. */
export function unescapeValue(value: string): string {
  return value.replace(/\\([,$|\\])/g, '$1');
}
