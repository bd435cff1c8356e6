// A minimal browser for HTTP-level tests of the sign-in pages: a cookie jar (path-aware, enough
// for one host), manual redirects (so tests can see each step), and reading forms and their
// hidden fields from the server-rendered HTML. Tests post the same forms a person would.
export interface PageResponse {
  status: number;
  url: string;
  headers: Headers;
  text: string;
  location?: string;
}

interface Cookie {
  value: string;
  path: string;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
export const unescapeHtml = (s: string): string => s.replace(/&(amp|lt|gt|quot|#39);/g, (m) => ENTITIES[m]);

export class PageBrowser {
  readonly cookies = new Map<string, Cookie>();

  constructor(
    readonly baseUrl: string,
    /** Extra headers on every request (e.g. X-Forwarded-For to act from another address). */
    readonly headers: Record<string, string> = {},
  ) {}

  private cookieHeader(url: URL): string {
    return [...this.cookies.entries()]
      .filter(([, c]) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expires = attrs.find((a) => a.toLowerCase().startsWith('expires='))?.slice(8);
      const maxAge = attrs.find((a) => a.toLowerCase().startsWith('max-age='))?.slice(8);
      const gone = value === '' || (expires && Date.parse(expires) < Date.now()) || maxAge === '0';
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string | string[]>; json?: unknown; headers?: Record<string, string> } = {}): Promise<PageResponse> {
    const target = new URL(url, this.baseUrl);
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(init.form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    }
    if (process.env.DEBUG_PAGES) process.stderr.write(`PAGE ${init.method ?? (body ? 'POST' : 'GET')} ${target.pathname}\n`);
    const res = await fetch(target, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.store(res);
    const text = await res.text();
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, url: target.toString(), headers: res.headers, text, location: location ? new URL(location, target).toString() : undefined };
  }

  get(url: string): Promise<PageResponse> {
    return this.request(url);
  }

  /**
   * Follows redirects within the authorization server and the account pages; stops at a page, or
   * at a redirect anywhere else (the app's redirect URI).
   */
  async follow(first: PageResponse, max = 10): Promise<PageResponse> {
    let res = first;
    for (let i = 0; i < max && res.location && res.status >= 300 && res.status < 400; i++) {
      if (!res.location.startsWith(`${this.baseUrl}/auth/`) && !res.location.startsWith(`${this.baseUrl}/account`)) return res;
      res = await this.get(res.location);
    }
    return res;
  }

  async visit(url: string): Promise<PageResponse> {
    return this.follow(await this.get(url));
  }

  /** Posts the form of `page` whose action matches, with its hidden fields and `fields`. */
  async submit(page: PageResponse, action: string | RegExp, fields: Record<string, string | string[]> = {}): Promise<PageResponse> {
    const form = formsOf(page.text).find((f) => (typeof action === 'string' ? f.action === action || f.action.endsWith(action) : action.test(f.action)));
    if (!form) throw new Error(`no form posting to ${action} on ${page.url} (status ${page.status}): ${page.text.slice(0, 400)}`);
    return this.request(new URL(form.action, page.url).toString(), { form: { ...form.hidden, ...fields } });
  }
}

export interface PageForm {
  action: string;
  method: string;
  hidden: Record<string, string>;
  html: string;
}

export function formsOf(text: string): PageForm[] {
  const out: PageForm[] = [];
  for (const m of text.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attrs = m[1];
    const action = unescapeHtml(/action="([^"]*)"/.exec(attrs)?.[1] ?? '');
    const method = (/method="([^"]*)"/.exec(attrs)?.[1] ?? 'get').toLowerCase();
    const hidden: Record<string, string> = {};
    for (const input of m[2].matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
      if (name) hidden[name] = unescapeHtml(value);
    }
    out.push({ action, method, hidden, html: m[2] });
  }
  return out;
}

/** The text of the page's alert (error) message, if any. */
export function alertOf(page: PageResponse): string | undefined {
  const m = /<div class="message error" role="alert"><p>([\s\S]*?)<\/p>/.exec(page.text);
  return m ? unescapeHtml(m[1].replace(/<[^>]+>/g, '')) : undefined;
}

export function titleOf(page: PageResponse): string {
  return unescapeHtml(/<h1>([\s\S]*?)<\/h1>/.exec(page.text)?.[1]?.replace(/<[^>]+>/g, '') ?? '');
}
