/**
 * Fallback to qemu-guest-agent (through libvirt's QEMU agent command) when our
 * guest agent does not answer: what it can tell (OS, users logged in,
 * interfaces, filesystems), mapped to our shapes and marked with its source.
 * The mapping is pure; the command runner is passed in.
 */
import { VemError } from '../../common/errors.js';
import { fromJsonValue, type XmlRpcValue } from '../../common/xmlrpc/value.js';

export const QGA_SOURCE = 'qemu-guest-agent';

export type QgaRun = (command: string, timeoutSec: number) => Promise<string>;

/** The `return` member of a QMP-style reply, or a clear error from its `error` member. */
export function qgaReturn(text: string): unknown {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new VemError(`qemu-guest-agent answered something that is not JSON: ${text.slice(0, 100)}`);
  }
  if (typeof o !== 'object' || o === null) throw new VemError('qemu-guest-agent answered a non-object');
  const r = o as { return?: unknown; error?: { class?: string; desc?: string } };
  if (r.error) throw new VemError(`qemu-guest-agent: ${r.error.desc ?? r.error.class ?? 'error'}`);
  return r.return;
}

type J = Record<string, unknown>;
const obj = (v: unknown): J => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as J) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const s = (v: unknown): string => (typeof v === 'string' ? v : '');
const n = (v: unknown): number => (typeof v === 'number' ? v : 0);

export function mapOsInfo(os: unknown, host: unknown): J {
  const o = obj(os);
  return {
    hostname: s(obj(host)['host-name']),
    os: { id: s(o['id']) || 'unknown', name: s(o['name']), version: s(o['version-id']), prettyName: s(o['pretty-name']) || s(o['name']) },
    kernel: s(o['kernel-release']),
    machine: s(o['machine']),
  };
}

export function mapUsers(users: unknown): Array<{ user: string; domain: string; loginTime: Date }> {
  return arr(users).map((u) => ({ user: s(obj(u)['user']), domain: s(obj(u)['domain']), loginTime: new Date(n(obj(u)['login-time']) * 1000) }));
}

export function mapInterfaces(ifs: unknown): J[] {
  return arr(ifs).map((i) => {
    const o = obj(i);
    const st = obj(o['statistics']);
    return {
      name: s(o['name']),
      mac: s(o['hardware-address']),
      rxBytes: n(st['rx-bytes']),
      txBytes: n(st['tx-bytes']),
      addresses: arr(o['ip-addresses']).map((a) => {
        const x = obj(a);
        const fam = s(x['ip-address-type']) === 'ipv6' ? 'IPv6' : 'IPv4';
        return { family: fam, address: s(x['ip-address']), cidr: `${s(x['ip-address'])}/${n(x['prefix'])}` };
      }),
    };
  });
}

export function mapFilesystems(fss: unknown): J[] {
  return arr(fss).map((f) => {
    const o = obj(f);
    const total = n(o['total-bytes']);
    const used = n(o['used-bytes']);
    return { device: s(o['name']), mountPoint: s(o['mountpoint']), fsType: s(o['type']), totalBytes: total, usedBytes: used, availableBytes: total - used };
  });
}

const cmd = (execute: string): string => JSON.stringify({ execute });

/** Our method name -> how qemu-guest-agent answers it; methods it cannot answer are absent. */
export const QGA_METHODS: Record<string, (run: QgaRun, t: number) => Promise<XmlRpcValue>> = {
  'guest.ping': async (run, t) => {
    qgaReturn(await run(cmd('guest-ping'), t));
    return { agent: QGA_SOURCE, source: QGA_SOURCE };
  },
  'guest.info': async (run, t) => {
    const os = qgaReturn(await run(cmd('guest-get-osinfo'), t));
    const host = await run(cmd('guest-get-host-name'), t).then(qgaReturn, () => ({}));
    return fromJsonValue({ ...mapOsInfo(os, host), source: QGA_SOURCE });
  },
  'guest.sessions': async (run, t) => fromJsonValue(mapUsers(qgaReturn(await run(cmd('guest-get-users'), t))).map((u) => ({ ...u, source: QGA_SOURCE }))),
  'guest.users': async (run, t) =>
    // qemu-guest-agent only knows who is logged in, not the account database.
    fromJsonValue({ users: mapUsers(qgaReturn(await run(cmd('guest-get-users'), t))).map((u) => ({ name: u.user, loggedIn: true, loginTime: u.loginTime })), groups: [], partial: true, source: QGA_SOURCE }),
  'guest.interfaces': async (run, t) => fromJsonValue(mapInterfaces(qgaReturn(await run(cmd('guest-network-get-interfaces'), t))).map((i) => ({ ...i, source: QGA_SOURCE }))),
  'guest.filesystems': async (run, t) => fromJsonValue(mapFilesystems(qgaReturn(await run(cmd('guest-get-fsinfo'), t))).map((f) => ({ ...f, source: QGA_SOURCE }))),
};
