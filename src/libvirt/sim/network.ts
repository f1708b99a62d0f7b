/** Simulated virtual networks of one node: libvirt's default NAT network and an isolated back-end network. */
import type { NetworkInfo } from '../hypervisor.js';
import { ErrorCode, LibvirtError } from '../errors.js';
import { attr, checkName, checkUuid, child, children, escapeXml as e, parseRoot, text, xmlError } from './xml.js';

interface Net {
  info: NetworkInfo;
  forward: 'nat' | 'route' | 'bridge' | 'none';
}

export function noNetwork(name: string): LibvirtError {
  return new LibvirtError(`Network not found: no network with matching name '${name}'`, ErrorCode.NO_NETWORK, 19);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export class SimNetworks {
  private readonly nets = new Map<string, Net>();

  constructor(readonly node: string, private readonly uuid: () => string) {
    this.nets.set('default', {
      forward: 'nat',
      info: { name: 'default', uuid: uuid(), active: true, persistent: true, autostart: true, bridge: 'virbr0', ipAddress: '192.168.122.1', netmask: '255.255.255.0', dhcpStart: '192.168.122.2', dhcpEnd: '192.168.122.254' },
    });
    this.nets.set('backend', {
      forward: 'none',
      info: { name: 'backend', uuid: uuid(), active: true, persistent: true, autostart: true, bridge: 'virbr1', ipAddress: '10.20.0.1', netmask: '255.255.255.0', dhcpStart: '10.20.0.100', dhcpEnd: '10.20.0.200' },
    });
  }

  private get(name: string): Net {
    const n = this.nets.get(name);
    if (!n) throw noNetwork(name);
    return n;
  }

  has(name: string): boolean {
    return this.nets.has(name);
  }

  isActive(name: string): boolean {
    return this.nets.get(name)?.info.active ?? false;
  }

  list(): NetworkInfo[] {
    return [...this.nets.values()].map((n) => ({ ...n.info }));
  }

  xml(name: string): string {
    const { info: i, forward } = this.get(name);
    const fwd = forward === 'none' ? '' : forward === 'nat' ? "  <forward mode='nat'>\n    <nat>\n      <port start='1024' end='65535'/>\n    </nat>\n  </forward>\n" : `  <forward mode='${forward}'/>\n`;
    const ip = i.ipAddress
      ? `  <ip address='${i.ipAddress}' netmask='${i.netmask ?? '255.255.255.0'}'>\n` + (i.dhcpStart ? `    <dhcp>\n      <range start='${i.dhcpStart}' end='${i.dhcpEnd ?? i.dhcpStart}'/>\n    </dhcp>\n` : '') + '  </ip>\n'
      : '';
    return (
      `<!-- Simulated by ve-manager: a virtual network of the simulated node sim://${e(this.node)}. -->\n` +
      `<network>\n  <name>${e(i.name)}</name>\n  <uuid>${i.uuid}</uuid>\n${fwd}` +
      (i.bridge ? `  <bridge name='${e(i.bridge)}' stp='on' delay='0'/>\n` : '') +
      ip +
      '</network>\n'
    );
  }

  define(xml: string): string {
    const n = parseRoot(xml, 'network', 'network_definition');
    const name = checkName(text(child(n, 'name')), 'network');
    const uuid = checkUuid(text(child(n, 'uuid')));
    const existing = this.nets.get(name);
    if (existing && uuid && existing.info.uuid !== uuid) throw new LibvirtError(`operation failed: network '${name}' already exists with uuid ${existing.info.uuid}`, ErrorCode.OPERATION_FAILED, 19);
    const mode = attr(child(n, 'forward'), 'mode');
    const forward = mode === undefined ? 'none' : mode === 'nat' || mode === 'route' || mode === 'bridge' ? mode : undefined;
    if (!forward) throw xmlError(`unknown forwarding type '${mode}'`);
    const ip = children(n, 'ip')[0];
    const address = attr(ip, 'address');
    const netmask = attr(ip, 'netmask') ?? (attr(ip, 'prefix') ? prefixToMask(Number(attr(ip, 'prefix'))) : undefined);
    const range = children(child(ip, 'dhcp'), 'range')[0];
    for (const [f, v] of [['ip address', address], ['netmask', netmask], ['dhcp range start', attr(range, 'start')], ['dhcp range end', attr(range, 'end')]] as const) {
      if (v !== undefined && !IPV4.test(v)) throw xmlError(`invalid ${f} '${v}' in network '${name}'`);
    }
    const bridge = attr(child(n, 'bridge'), 'name') ?? existing?.info.bridge ?? `virbr${this.nets.size}`;
    const info: NetworkInfo = {
      name,
      uuid: uuid ?? existing?.info.uuid ?? this.uuid(),
      active: existing?.info.active ?? false,
      persistent: true,
      autostart: existing?.info.autostart ?? false,
      bridge,
    };
    if (address) info.ipAddress = address;
    if (netmask) info.netmask = netmask;
    const start = attr(range, 'start');
    const end = attr(range, 'end');
    if (start) info.dhcpStart = start;
    if (end) info.dhcpEnd = end;
    this.nets.set(name, { info, forward });
    return name;
  }

  undefine(name: string): void {
    const n = this.get(name);
    if (n.info.active) {
      // libvirt keeps an active network as transient; it disappears when stopped.
      n.info.persistent = false;
      return;
    }
    this.nets.delete(name);
  }

  start(name: string): void {
    const n = this.get(name);
    if (n.info.active) throw new LibvirtError('Requested operation is not valid: network is already active', ErrorCode.OPERATION_INVALID, 19);
    // As libvirt's route-collision check at start: one subnet, one active network.
    const subnet = subnetOf(n.info);
    for (const o of this.nets.values()) {
      if (o !== n && o.info.active && subnet !== undefined && subnetOf(o.info) === subnet) {
        throw new LibvirtError(`internal error: Network is already in use by interface ${o.info.bridge ?? o.info.name}`, ErrorCode.INTERNAL_ERROR, 19);
      }
    }
    n.info.active = true;
  }

  stop(name: string): void {
    const n = this.get(name);
    if (!n.info.active) throw new LibvirtError(`Requested operation is not valid: network '${name}' is not active`, ErrorCode.OPERATION_INVALID, 19);
    n.info.active = false;
    if (!n.info.persistent) this.nets.delete(name);
  }

  setAutostart(name: string, on: boolean): void {
    const n = this.get(name);
    if (!n.info.persistent) throw new LibvirtError('Requested operation is not valid: cannot set autostart for transient network', ErrorCode.OPERATION_INVALID, 19);
    n.info.autostart = on;
  }
}

function prefixToMask(p: number): string | undefined {
  if (!Number.isInteger(p) || p < 0 || p > 32) return undefined;
  const m = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join('.');
}

/** "192.168.122.0/255.255.255.0" for a network with an IPv4 address, else undefined. */
function subnetOf(i: NetworkInfo): string | undefined {
  if (!i.ipAddress) return undefined;
  const mask = (i.netmask ?? '255.255.255.0').split('.').map(Number);
  return `${i.ipAddress.split('.').map((o, k) => Number(o) & (mask[k] ?? 0)).join('.')}/${mask.join('.')}`;
}
