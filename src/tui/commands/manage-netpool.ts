/**
 * What the network and storage screens send when an admin makes a network or a
 * pool, from one line of input. Pure: every problem is said before anything is sent.
 */
import { escapeXml as esc } from '../../common/xml.js';
import { nameProblem } from './manage-validate.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

const toInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

export const NETWORK_MODES = ['nat', 'isolated'] as const;

/**
 * "NAME ADDRESS/PREFIX [nat|isolated]" -> <network> XML with DHCP over the upper half of
 * the subnet (as virt-manager suggests), or the first problem found.
 */
export function networkSpec(text: string): { name: string; xml: string } | { error: string } {
  const [name = '', cidr = '', mode = 'nat', ...rest] = text.trim().split(/\s+/);
  const bad = nameProblem(name, 'network name');
  if (bad) return { error: bad };
  if (rest.length > 0) return { error: `network: unexpected '${rest.join(' ')}' (NAME ADDRESS/PREFIX [nat|isolated])` };
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) return { error: `network address: '${cidr}' is not ADDRESS/PREFIX (e.g. 10.60.0.1/24)` };
  const ip = m[1] ?? '';
  const prefix = Number(m[2]);
  if (!IPV4.test(ip)) return { error: `network address: '${ip}' is not an IPv4 address` };
  if (prefix < 8 || prefix > 30) return { error: `network prefix: /${prefix} is outside /8../30` };
  if (!(NETWORK_MODES as readonly string[]).includes(mode)) return { error: `network mode: '${mode}' is not one of ${NETWORK_MODES.join(', ')}` };
  const size = 2 ** (32 - prefix);
  const base = toInt(ip) - (toInt(ip) % size);
  const host = toInt(ip) - base;
  if (host === 0 || host === size - 1) return { error: `network address: ${ip} is the subnet's ${host === 0 ? 'network' : 'broadcast'} address; give the host's (e.g. ${toIp(base + 1)}/${prefix})` };
  const mask = toIp(size === 2 ** 32 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
  const start = toIp(base + Math.floor(size / 2));
  const end = toIp(base + size - 2);
  const forward = mode === 'nat' ? "<forward mode='nat'/>" : '';
  return { name, xml: `<network><name>${esc(name)}</name>${forward}<ip address='${ip}' netmask='${mask}'><dhcp><range start='${start}' end='${end}'/></dhcp></ip></network>` };
}

/** "NAME PATH" -> a directory pool's <pool> XML, or the first problem found. */
export function dirPoolSpec(text: string): { name: string; xml: string } | { error: string } {
  const [name = '', path = '', ...rest] = text.trim().split(/\s+/);
  const bad = nameProblem(name, 'pool name');
  if (bad) return { error: bad };
  if (rest.length > 0) return { error: `pool: unexpected '${rest.join(' ')}' (NAME PATH; a path with spaces is not accepted here)` };
  if (!path.startsWith('/')) return { error: `pool path: '${path}' is not an absolute path (e.g. /var/lib/libvirt/${name})` };
  if (path.split('/').some((p) => p === '..')) return { error: `pool path: '${path}' may not contain '..'` };
  return { name, xml: `<pool type='dir'><name>${esc(name)}</name><target><path>${esc(path)}</path></target></pool>` };
}
