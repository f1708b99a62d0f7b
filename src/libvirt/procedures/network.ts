import type { DhcpLease, NetworkInfo } from '../hypervisor.js';
import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import type { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';
import { LIST_MAX, readBool, readNetwork, readString, uuidString, writeNetwork, type NetworkHandle } from './types.js';
import { section, tagAttr } from './xml.js';

export function lookup(rpc: RpcConnection, name: string): Promise<NetworkHandle> {
  return rpc.call(Proc.NETWORK_LOOKUP_BY_NAME, (w) => w.string(name), readNetwork);
}

export function listAll(rpc: RpcConnection): Promise<NetworkHandle[]> {
  return rpc.call(Proc.CONNECT_LIST_ALL_NETWORKS, (w) => w.int(1).uint(0), (r) => {
    const nets = r.array(LIST_MAX, readNetwork, 20);
    r.uint();
    return nets;
  });
}

export function xml(rpc: RpcConnection, n: NetworkHandle): Promise<string> {
  return rpc.call(Proc.NETWORK_GET_XML_DESC, (w) => (writeNetwork(w, n), w.uint(0)), readString);
}

/** Prefix length → dotted netmask (the XML may give either). */
function prefixToNetmask(prefix: number): string {
  const bits = prefix <= 0 ? 0 : (0xffffffff << (32 - Math.min(32, prefix))) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

export function parseNetworkXml(x: string): Pick<NetworkInfo, 'bridge' | 'ipAddress' | 'netmask' | 'dhcpStart' | 'dhcpEnd'> {
  const out: Pick<NetworkInfo, 'bridge' | 'ipAddress' | 'netmask' | 'dhcpStart' | 'dhcpEnd'> = {};
  const bridge = tagAttr(x, 'bridge', 'name');
  if (bridge !== undefined) out.bridge = bridge;
  const ip = tagAttr(x, 'ip', 'address');
  if (ip !== undefined) {
    out.ipAddress = ip;
    const mask = tagAttr(x, 'ip', 'netmask');
    const prefix = tagAttr(x, 'ip', 'prefix');
    if (mask !== undefined) out.netmask = mask;
    else if (prefix !== undefined && /^\d+$/.test(prefix)) out.netmask = prefixToNetmask(Number(prefix));
  }
  const dhcp = section(x, 'dhcp');
  if (dhcp) {
    const start = tagAttr(dhcp, 'range', 'start');
    const end = tagAttr(dhcp, 'range', 'end');
    if (start !== undefined) out.dhcpStart = start;
    if (end !== undefined) out.dhcpEnd = end;
  }
  return out;
}

export async function info(rpc: RpcConnection, n: NetworkHandle): Promise<NetworkInfo> {
  const nw = (w: XdrWriter): void => writeNetwork(w, n);
  const [active, persistent, autostart, x] = await Promise.all([
    rpc.call(Proc.NETWORK_IS_ACTIVE, nw, readBool),
    rpc.call(Proc.NETWORK_IS_PERSISTENT, nw, readBool),
    rpc.call(Proc.NETWORK_GET_AUTOSTART, nw, readBool),
    xml(rpc, n),
  ]);
  return { name: n.name, uuid: uuidString(n.uuid), active, persistent, autostart, ...parseNetworkXml(x) };
}

export function define(rpc: RpcConnection, x: string): Promise<NetworkHandle> {
  return rpc.call(Proc.NETWORK_DEFINE_XML, (w) => w.string(x), readNetwork);
}

export const simple = (rpc: RpcConnection, proc: number, n: NetworkHandle): Promise<void> => rpc.call(proc, (w) => writeNetwork(w, n));

export function setAutostart(rpc: RpcConnection, n: NetworkHandle, on: boolean): Promise<void> {
  return rpc.call(Proc.NETWORK_SET_AUTOSTART, (w) => (writeNetwork(w, n), w.int(on ? 1 : 0)));
}

/** REMOTE_NETWORK_DHCP_LEASES_MAX in remote_protocol.x. */
const LEASES_MAX = 65536;

/** remote_network_dhcp_lease: iface, expirytime (hyper), type (virIPAddrType), mac?, iaid?, ipaddr, prefix, hostname?, clientid?. */
function readLease(r: XdrReader): DhcpLease {
  const iface = r.string();
  const expiryTime = r.hyper();
  const type = r.int() === 1 ? 'ipv6' : 'ipv4';
  const mac = r.optString();
  const iaid = r.optString();
  const ipAddress = r.string();
  const prefix = r.uint();
  const hostname = r.optString();
  const clientId = r.optString();
  return {
    iface, expiryTime, type, ipAddress, prefix,
    ...(mac !== null ? { mac } : {}), ...(iaid !== null ? { iaid } : {}), ...(hostname !== null ? { hostname } : {}), ...(clientId !== null ? { clientId } : {}),
  };
}

/** Every lease of the network (no MAC filter); need_results=1 asks for the list, not only its length. */
export function dhcpLeases(rpc: RpcConnection, n: NetworkHandle): Promise<DhcpLease[]> {
  return rpc.call(Proc.NETWORK_GET_DHCP_LEASES, (w) => (writeNetwork(w, n), w.optString(null), w.int(1), w.uint(0)), (r) => {
    const leases = r.array(LEASES_MAX, readLease, 40);
    r.uint();
    return leases;
  });
}
