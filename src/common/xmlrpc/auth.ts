/** Token checks and address rules for the XML-RPC server (pure apart from hashing). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Constant-time comparison: both sides are hashed first so lengths never leak. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/**
 * The token in an Authorization header: "Bearer TOKEN", or Basic auth whose
 * password is the token (what stock clients send for http://user:TOKEN@host/).
 */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\w+)\s+(.+)$/.exec(header.trim());
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase();
  const rest = m[2] as string;
  if (scheme === 'bearer') return rest;
  if (scheme === 'basic') {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : decoded;
  }
  return undefined;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/** Splits "HOST:PORT" / "[v6]:PORT"; throws on anything else. */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`listen address must be HOST:PORT (e.g. 127.0.0.1:8770), got '${spec}'`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * An http(s) URL with its userinfo taken out: `https://vem:TOKEN@host:8730/` gives the
 * URL without it and the token (the password, percent-decoded when it is valid). Any
 * token works this way, even one with `/ + = @` that WHATWG URL parsing refuses.
 * The userinfo runs to the LAST '@' followed by a host (no '/', '?', '#' or '@'):
 * WHATWG parsing ends the authority at the first '/', so `vem:a@b/c@host` would send
 * the token's tail to host `b`.
 */
export function splitUserinfo(url: string): { url: string; user?: string; token?: string } {
  const dec = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@/?#]*)([/?#].*)?$/is.exec(url);
  if (!m) return { url };
  const info = m[2] as string;
  const colon = info.indexOf(':');
  const user = dec(colon >= 0 ? info.slice(0, colon) : info);
  const token = colon >= 0 ? dec(info.slice(colon + 1)) : undefined;
  return { url: `${m[1] as string}${m[3] as string}${m[4] ?? '/'}`, user, ...(token !== undefined ? { token } : {}) };
}

/** Every URL in `text` with the credentials of its userinfo masked: what errors and logs may show. */
export function redactUrls(text: string): string {
  // Greedy up to the last '@' of the word: a token may itself hold '/', '@' or '='.
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s'"<>@]*(?:@[^\s'"<>@]*)*)@(?=[^\s'"<>@]*(?:[\s'"<>]|$))/gi, (_all, scheme: string, info: string) => {
    const colon = info.indexOf(':');
    if (colon >= 0) return `${scheme}${info.slice(0, colon)}:***@`;
    // A lone user is a name in libvirt and ssh URIs (root@host), but may be the token itself in http(s) ones.
    return /^https?:\/\/$/i.test(scheme) ? `${scheme}***@` : `${scheme}${info}@`;
  });
}
