// The clinic's colour as CSS custom properties, with text colours that keep WCAG AA contrast
// (4.5:1) whatever colour is configured: white or black text on the colour, and the colour
// darkened until links written in it are readable on white.
// See: https://www.w3.org/TR/WCAG21/#contrast-minimum
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

function darken(hex: string, factor: number): string {
  return `#${[1, 3, 5]
    .map((i) => Math.round(parseInt(hex.slice(i, i + 2), 16) * factor))
    .map((c) => c.toString(16).padStart(2, '0'))
    .join('')}`;
}

export function clinicCss(color: string): string {
  const onClinic = contrast(color, '#ffffff') >= contrast(color, '#000000') ? '#ffffff' : '#000000';
  let text = color;
  for (let f = 0.9; contrast(text, '#ffffff') < 4.5 && f > 0; f -= 0.1) text = darken(color, f);
  return `:root { --clinic: ${color}; --on-clinic: ${onClinic}; --clinic-text: ${text}; --focus: ${text}; }\n`;
}
