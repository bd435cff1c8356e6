// The network address a request came from, for rate limits and the audit trail.
// Behind a TLS-terminating proxy (TRUST_PROXY) it is the last X-Forwarded-For entry: the one the
// proxy appended itself. Entries before it are whatever the client wrote (anyone can send
// "X-Forwarded-For: 10.0.0.1"), so the leftmost entry — Express's `req.ip` and Koa's `ctx.ip`
// with proxies trusted — must not decide who is rate-limited or what the trail records. An entry
// that is not an IP address is not taken either (a misconfigured proxy, or a header the proxy
// passed through untouched): the socket's address stands instead.
// See: https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Forwarded-For#security_and_privacy_concerns
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for'];
    const list = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
    const last = list[list.length - 1].trim();
    if (last.length <= 45 && isIP(last) !== 0) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
