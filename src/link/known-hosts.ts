/** known_hosts checking as OpenSSH does it: plain and hashed names, [host]:port, @revoked; pure except read/append. */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  /** The file it came from, for messages ('' when parsed from text). */
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Plain comma-separated patterns, or a hashed `|1|salt|hash` name. */
  hosts: string;
  keyType: string;
  keyBase64: string;
}

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown'; otherTypes: string[] }
  | { kind: 'changed'; file: string; line: number; knownType: string }
  | { kind: 'revoked'; file: string; line: number };

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string, file = ''): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (f[0]?.startsWith('@')) {
      const m = f.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // an unknown marker: skip the line rather than guess what it means
    }
    const [hosts, keyType, keyBase64] = f;
    if (!hosts || !keyType || !keyBase64) return;
    out.push({ file, line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, keyBase64 });
  });
  return out;
}

/** OpenSSH's pattern language for host lists: `*`, `?`, and `!negation`. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

export function hostsFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const want = Buffer.from(hash, 'base64');
    const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  let matched = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

/** The algorithm name at the head of an SSH public key blob (e.g. ssh-ed25519). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

export function fingerprintSha256(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Decides what to do with a host key: known, unknown (never seen), changed (seen, different), revoked. */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = hostPattern(host, port);
  const type = keyTypeOfBlob(blob);
  const b64 = blob.toString('base64');
  const mine = entries.filter((e) => e.marker !== 'cert-authority' && hostsFieldMatches(e.hosts, name));
  const revoked = entries.find((e) => e.marker === 'revoked' && e.keyBase64 === b64);
  if (revoked) return { kind: 'revoked', file: revoked.file, line: revoked.line };
  const plain = mine.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.keyType === type && e.keyBase64 === b64)) return { kind: 'known' };
  const sameType = plain.find((e) => e.keyType === type);
  if (sameType) return { kind: 'changed', file: sameType.file, line: sameType.line, knownType: sameType.keyType };
  return { kind: 'unknown', otherTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** Host key algorithms to offer first, so the server shows the key type we already know (as ssh does). */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], host: string, port: number): string[] {
  const name = hostPattern(host, port);
  const types = entries.filter((e) => e.marker === undefined && hostsFieldMatches(e.hosts, name)).map((e) => e.keyType);
  const algos: string[] = [];
  for (const t of types) {
    if (t === 'ssh-rsa') algos.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else algos.push(t);
  }
  return [...new Set(algos)];
}

export function knownHostsLine(host: string, port: number, blob: Buffer): string {
  return `${hostPattern(host, port)} ${keyTypeOfBlob(blob)} ${blob.toString('base64')}`;
}

export function readKnownHosts(path: string): KnownHostEntry[] {
  try {
    return parseKnownHosts(readFileSync(path, 'utf8'), path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Appends one line, creating ~/.ssh (0700) and the file (0600) as ssh would; keeps a missing final newline from gluing lines. */
export function appendKnownHost(path: string, line: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(path) && statSync(path).size > 0) {
    const text = readFileSync(path, 'utf8');
    if (!text.endsWith('\n')) prefix = '\n';
  }
  appendFileSync(path, `${prefix}${line}\n`, { mode: 0o600 });
}
