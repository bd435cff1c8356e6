// HTML built from templates whose values are escaped unless they are already HTML: the pages
// never put text into markup unescaped.
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

type Value = SafeHtml | string | number | boolean | undefined | null | Value[];

function render(value: Value): string {
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (value instanceof SafeHtml) return value.value;
  return escapeHtml(String(value));
}

/** html`<p>${text}</p>`: text escaped, SafeHtml and arrays of it inserted as they are. */
export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup that is already safe (produced by a trusted library, such as the QR code's SVG). */
export const trusted = (markup: string): SafeHtml => new SafeHtml(markup);
