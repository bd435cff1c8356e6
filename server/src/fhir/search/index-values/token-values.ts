// token parameters: codes with their systems, pre-combined as "system|code" because the query
// side cannot require two fields of one array element to match together (no $elemMatch on FerretDB).
// See: https://hl7.org/fhir/R4/search.html#token
import type { TypedValue } from '../registry.ts';
import { foldString } from '../fold.ts';
import type { TokenIndex } from './shapes.ts';

interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

class TokenCollector {
  readonly c = new Set<string>();
  readonly sc = new Set<string>();
  readonly x = new Set<string>();
  readonly ot = new Set<string>();

  code(system: string | undefined, code: string | undefined): void {
    if (code === undefined || code === '') return;
    this.c.add(code);
    this.sc.add(`${system ?? ''}|${code}`);
  }

  text(t: unknown): void {
    if (typeof t === 'string' && t.trim()) this.x.add(foldString(t));
  }

  add(v: TypedValue): void {
    const value = v.value;
    if (typeof value === 'boolean') return void this.c.add(String(value));
    if (typeof value === 'string' || typeof value === 'number') {
      // code, id, string, uri: the implicit system is not known here, so only the bare code matches.
      return void this.c.add(String(value));
    }
    if (!value || typeof value !== 'object') return;
    const o = value as Record<string, unknown>;
    switch (v.type) {
      case 'Coding':
        this.coding(o as Coding);
        break;
      case 'CodeableConcept':
        for (const coding of (o.coding as Coding[] | undefined) ?? []) this.coding(coding);
        this.text(o.text);
        break;
      case 'Identifier': {
        const value = o.value as string | undefined;
        this.code(o.system as string | undefined, value);
        const type = o.type as { coding?: Coding[]; text?: string } | undefined;
        this.text(type?.text);
        for (const tc of type?.coding ?? []) {
          this.text(tc.display);
          if (value && tc.code) this.ot.add(`${tc.system ?? ''}|${tc.code}|${value}`);
        }
        break;
      }
      case 'ContactPoint':
        this.code(o.system as string | undefined, o.value as string | undefined);
        break;
      default:
        // Quantity and friends have a code/system too (e.g. Observation.value for some params).
        if (typeof o.code === 'string') this.code(o.system as string | undefined, o.code);
    }
  }

  private coding(coding: Coding): void {
    this.code(coding.system, coding.code);
    this.text(coding.display);
  }
}

export function tokenIndex(values: TypedValue[]): TokenIndex | undefined {
  const t = new TokenCollector();
  for (const v of values) t.add(v);
  if (t.c.size === 0 && t.x.size === 0) return undefined;
  const out: TokenIndex = { c: [...t.c], sc: [...t.sc] };
  if (out.sc?.length === 0) delete out.sc; // plain codes: nothing to match by system
  if (t.x.size > 0) out.x = [...t.x];
  if (t.ot.size > 0) out.ot = [...t.ot];
  if (out.c.length > 0) out.o = out.c[0];
  return out;
}
