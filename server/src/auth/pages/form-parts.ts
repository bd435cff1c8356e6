// Pieces every form uses: labelled fields with hints and errors tied to them (aria-describedby),
// hidden fields, messages that say what to do.
import { html, type SafeHtml } from './html.ts';

export interface FieldOptions {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password' | 'date' | 'search';
  autocomplete?: string;
  value?: string;
  hint?: string;
  error?: string;
  required?: boolean;
  inputmode?: 'numeric' | 'text' | 'email';
  className?: string;
  maxlength?: number;
  autofocus?: boolean;
  /** Distinguishes the ids of a field that appears in several forms of one page. */
  idSuffix?: string;
}

export function field(o: FieldOptions): SafeHtml {
  const id = `f-${o.name}${o.idSuffix ? `-${o.idSuffix}` : ''}`;
  const described = [o.hint ? `${id}-hint` : '', o.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field">
<label for="${id}">${o.label}</label>
${o.hint ? html`<span class="hint" id="${id}-hint">${o.hint}</span>` : ''}
${o.error ? html`<span class="hint error-text" id="${id}-error"><strong>${o.error}</strong></span>` : ''}
<input id="${id}" name="${o.name}" type="${o.type ?? 'text'}"${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.value !== undefined && o.type !== 'password' ? html` value="${o.value}"` : ''}${o.required === false ? '' : html` required`}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''}${o.className ? html` class="${o.className}"` : ''}${o.maxlength ? html` maxlength="${o.maxlength}"` : ''}${described ? html` aria-describedby="${described}"` : ''}${o.error ? html` aria-invalid="true"` : ''}${o.autofocus ? html` autofocus` : ''}>
</div>`;
}

export function hiddenFields(csrf: string, extra: Record<string, string> = {}): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}">${Object.entries(extra).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}`;
}

export function message(kind: 'error' | 'info' | 'success', text: string | SafeHtml | undefined): SafeHtml {
  if (!text) return html``;
  return html`<div class="message ${kind}"${kind === 'error' ? html` role="alert"` : html` role="status"`}><p>${text}</p></div>`;
}

/** A form value as a trimmed string (absent, repeated or non-text values count as empty). */
export function formValue(body: unknown, name: string, max = 1000): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

/** A password as typed: not trimmed (spaces are characters too), at most 1,000 characters read. */
export function passwordValue(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, 1000) : '';
}

export function timeOfDay(date: Date): string {
  return date.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', timeZoneName: 'short' });
}
