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
