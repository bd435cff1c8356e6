// The element a character offset of a JSON text lies in, as a FHIRPath-style path
// ("valueQuantity.value", "entry[2].resource.extension[0]"), for error messages. Runs only when
// something is refused, so it favours simplicity over speed. Expects text that JSON.parse would
// accept up to the offset; anything else yields a best-effort path.

interface Frame {
  array: boolean;
  /** Object: the key whose value is being read; array: "". */
  key: string;
  /** Array: the index of the element being read. */
  index: number;
}

/** Index of the closing quote of the string starting at text[start]. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 92) i += 2;
    else if (c === 34) return i;
    else i++;
  }
  return text.length;
}

function keyText(raw: string): string {
  try {
    const key = JSON.parse(raw) as string;
    return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `\`${key.slice(0, 40).replace(/[`\\]/g, '')}\``;
  } catch {
    return '?';
  }
}

export function jsonPathAt(text: string, offset: number): string {
  const frames: Frame[] = [];
  let expectKey = false;
  let i = 0;
  while (i < offset && i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const end = stringEnd(text, i);
      const top = frames[frames.length - 1];
      if (expectKey && top && !top.array) {
        top.key = keyText(text.slice(i, end + 1));
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === 123) {
      frames.push({ array: false, key: '', index: 0 });
      expectKey = true;
    } else if (c === 91) {
      frames.push({ array: true, key: '', index: 0 });
    } else if (c === 125 || c === 93) {
      frames.pop();
    } else if (c === 44) {
      const top = frames[frames.length - 1];
      if (top?.array) top.index++;
      else expectKey = true;
    }
    i++;
  }
  let path = '';
  for (const f of frames) {
    if (f.array) path += `[${f.index}]`;
    else if (f.key) path += path ? `.${f.key}` : f.key;
  }
  return path;
}
