// reference parameters: literal references in normal form, plus logical identifiers for :identifier.
// See: https://hl7.org/fhir/R4/search.html#reference
import type { TypedValue } from '../registry.ts';
import { normalizeReference } from '../reference-string.ts';
import type { ReferenceIndex } from './shapes.ts';

export function referenceIndex(values: TypedValue[], baseUrl: string): ReferenceIndex | undefined {
  const r = new Set<string>();
  const i = new Set<string>();
  const iv = new Set<string>();
  for (const v of values) {
    if (typeof v.value === 'string') {
      // canonical / uri elements searched as references (e.g. Questionnaire urls)
      const n = normalizeReference(v.value, baseUrl);
      if (n) r.add(n);
      continue;
    }
    if (!v.value || typeof v.value !== 'object') continue;
    const o = v.value as { reference?: string; identifier?: { system?: string; value?: string } };
    if (typeof o.reference === 'string') {
      const n = normalizeReference(o.reference, baseUrl);
      if (n) r.add(n);
    }
    if (o.identifier?.value) {
      i.add(`${o.identifier.system ?? ''}|${o.identifier.value}`);
      iv.add(o.identifier.value);
    }
  }
  if (r.size === 0 && iv.size === 0) return undefined;
  const out: ReferenceIndex = { r: [...r] };
  if (iv.size > 0) {
    out.i = [...i];
    out.iv = [...iv];
  }
  if (out.r.length > 0) out.o = out.r[0];
  return out;
}
