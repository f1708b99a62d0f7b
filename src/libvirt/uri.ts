import { UsageError } from '../common/errors.js';

/** The parts of a libvirt URI this client acts on: driver[+transport]://[user@][host][:port]/path?params. */
export interface LibvirtUri {
  /** As given. */
  uri: string;
  driver: string;
  transport: 'unix' | 'tcp' | 'tls' | 'ssh' | 'libssh' | 'libssh2' | 'ext';
  host: string | null;
  port: number | null;
  user: string | null;
  path: string;
  /** Every query parameter, including the client-side ones. */
  params: Record<string, string>;
  /** Unix socket path when the transport is unix. */
  socket: string | null;
  /** The URI the daemon is asked to open (transport, host and client-side parameters removed). */
  daemonUri: string;
}

export const DEFAULT_SOCKET = '/var/run/libvirt/libvirt-sock';
export const DEFAULT_RO_SOCKET = '/var/run/libvirt/libvirt-sock-ro';
export const DEFAULT_TCP_PORT = 16509;
export const DEFAULT_TLS_PORT = 16514;

/** Query parameters the remote driver consumes itself; the daemon never sees them. */
const CLIENT_PARAMS = new Set([
  'name', 'command', 'socket', 'netcat', 'keyfile', 'sshauth', 'no_verify', 'no_tty', 'pkipath',
  'known_hosts', 'known_hosts_verify', 'tls_priority', 'mode', 'proxy', 'readonly',
]);

const TRANSPORTS = new Set(['unix', 'tcp', 'tls', 'ssh', 'libssh', 'libssh2', 'ext']);

export function parseLibvirtUri(uri: string): LibvirtUri {
  const m = /^([A-Za-z][A-Za-z0-9]*)(?:\+([A-Za-z0-9]+))?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(uri.trim());
  if (!m) throw new UsageError(`not a libvirt URI: "${uri}" (expected driver[+transport]://[host]/path, e.g. qemu:///system)`);
  const driver = (m[1] as string).toLowerCase();
  const authority = m[3] ?? '';
  const path = m[4] ?? '/';
  const params: Record<string, string> = {};
  for (const part of (m[5] ?? '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    params[k] = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
  }
  let user: string | null = null;
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    user = decodeURIComponent(authority.slice(0, at));
    hostPort = authority.slice(at + 1);
  }
  let host: string | null = null;
  let port: number | null = null;
  if (hostPort) {
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
    const plain = /^([^:]+)(?::(\d+))?$/.exec(hostPort);
    const hm = v6 ?? plain;
    if (!hm) throw new UsageError(`bad host in libvirt URI "${uri}"`);
    host = hm[1] as string;
    if (hm[2] !== undefined) {
      port = Number(hm[2]);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port in libvirt URI "${uri}"`);
    }
  }
  const t = m[2]?.toLowerCase() ?? (host ? 'tls' : 'unix');
  if (!TRANSPORTS.has(t)) throw new UsageError(`unknown libvirt transport "${t}" in "${uri}" (unix, tcp, tls, ssh)`);
  const transport = t as LibvirtUri['transport'];
  const kept = Object.entries(params).filter(([k]) => !CLIENT_PARAMS.has(k));
  const query = kept.length ? '?' + kept.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : '';
  const daemonUri = params['name'] ?? `${driver}://${path}${query}`;
  const socket = transport === 'unix' ? (params['socket'] ?? DEFAULT_SOCKET) : null;
  return { uri, driver, transport, host, port, user, path, params, socket, daemonUri };
}

/** Where to connect for a parsed URI; only unix and tcp are spoken (TLS and SSH are refused with a hint). */
export function endpointOf(u: LibvirtUri): { path: string } | { host: string; port: number } {
  if (u.transport === 'unix') {
    if (u.host && u.host !== 'localhost') throw new UsageError(`a unix-socket libvirt URI cannot name a host: "${u.uri}"`);
    return { path: u.socket ?? DEFAULT_SOCKET };
  }
  if (u.transport === 'tcp') return { host: u.host ?? 'localhost', port: u.port ?? DEFAULT_TCP_PORT };
  throw new UsageError(`libvirt transport "${u.transport}" is not supported by this client (use +unix, or +tcp on a trusted loopback; reach remote nodes through vem's SSH link)`);
}
