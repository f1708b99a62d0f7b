import type { HostInfo, NodeInfo, NodeStats } from '../hypervisor.js';
import { ErrorCode, LibvirtError } from '../errors.js';
import { DriverFeature, Proc, STRING_MAX } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import type { XdrReader } from '../xdr/reader.js';
import { readString } from './types.js';

const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** Authenticate (only "none" and polkit-as-root are spoken) and open the daemon-side URI. */
export async function authenticateAndOpen(rpc: RpcConnection, daemonUri: string, readOnly: boolean): Promise<void> {
  const types = await rpc.call(Proc.AUTH_LIST, undefined, (r) => r.array(20, (rr) => rr.int()));
  if (types.length > 0 && !types.includes(AuthType.NONE)) {
    if (types.includes(AuthType.POLKIT)) {
      // The daemon asks polkit about our peer credentials; root is normally allowed.
      const complete = await rpc.call(Proc.AUTH_POLKIT, undefined, (r) => r.int()).catch((e: unknown) => {
        throw new LibvirtError(`polkit refused access to ${rpc.uri}: ${(e as Error).message}`, 45);
      });
      if (!complete) throw new LibvirtError(`polkit did not complete authentication for ${rpc.uri}`, 45);
    } else {
      throw new LibvirtError(
        `${rpc.uri} requires SASL authentication, which this client does not speak; set auth_unix_rw/auth_tcp = "none" on a trusted socket, or reach the node through SSH and its local socket`,
        45,
      );
    }
  }
  await rpc.call(Proc.CONNECT_OPEN, (w) => w.optString(daemonUri).uint(readOnly ? 1 : 0));
}

export async function supportsFeature(rpc: RpcConnection, feature: number): Promise<boolean> {
  return rpc.call(Proc.CONNECT_SUPPORTS_FEATURE, (w) => w.int(feature), (r) => r.int() !== 0);
}

/** Ask the daemon to start its keepalive towards us (it answers our pings either way). */
export async function enableServerKeepalive(rpc: RpcConnection): Promise<boolean> {
  return supportsFeature(rpc, DriverFeature.PROGRAM_KEEPALIVE).catch(() => false);
}

function versionString(v: number): string {
  return `${Math.floor(v / 1000000)}.${Math.floor(v / 1000) % 1000}.${v % 1000}`;
}

function readNodeInfo(r: XdrReader): NodeInfo {
  // char model[32] is a fixed array of XDR chars: 4 bytes each.
  let model = '';
  for (let i = 0; i < 32; i++) {
    const c = r.int() & 0xff;
    if (c !== 0) model += String.fromCharCode(c);
    else {
      r.skip((31 - i) * 4);
      break;
    }
  }
  return {
    model,
    memoryKiB: r.uhyper(),
    cpus: r.int(),
    mhz: r.int(),
    numaNodes: r.int(),
    sockets: r.int(),
    cores: r.int(),
    threads: r.int(),
  };
}

export function nodeInfo(rpc: RpcConnection): Promise<NodeInfo> {
  return rpc.call(Proc.NODE_GET_INFO, undefined, readNodeInfo);
}

export async function hostInfo(rpc: RpcConnection): Promise<HostInfo> {
  const [hostname, uri, driver, hv, lib, node] = await Promise.all([
    rpc.call(Proc.CONNECT_GET_HOSTNAME, undefined, readString),
    rpc.call(Proc.CONNECT_GET_URI, undefined, readString),
    rpc.call(Proc.CONNECT_GET_TYPE, undefined, readString),
    rpc.call(Proc.CONNECT_GET_VERSION, undefined, (r) => r.uhyper()),
    rpc.call(Proc.CONNECT_GET_LIB_VERSION, undefined, (r) => r.uhyper()),
    nodeInfo(rpc),
  ]);
  return { hostname, uri, driver, hypervisorVersion: versionString(hv), libvirtVersion: versionString(lib), simulated: false, node };
}

export function capabilities(rpc: RpcConnection): Promise<string> {
  return rpc.call(Proc.CONNECT_GET_CAPABILITIES, undefined, readString);
}

/** nodeGetCPUStats / nodeGetMemoryStats return {field, value} lists; ask for the count first, as libvirt requires. */
async function fieldList(rpc: RpcConnection, proc: number, args: (n: number) => (w: import('../xdr/writer.js').XdrWriter) => void): Promise<Record<string, number>> {
  const decode = (r: XdrReader): { list: Array<[string, number]>; n: number } => {
    const list = r.array(16, (rr) => [rr.string(STRING_MAX), rr.uhyper()] as [string, number], 12);
    return { list, n: r.int() };
  };
  const first = await rpc.call(proc, args(0), decode);
  const out: Record<string, number> = {};
  if (first.n === 0) return out;
  const second = await rpc.call(proc, args(first.n), decode);
  for (const [k, v] of second.list) out[k] = v;
  return out;
}

/** Drivers without node statistics (the test driver has no memory stats) give empty figures, not an error. */
const unsupportedAsEmpty = (e: unknown): Record<string, number> => {
  if (e instanceof LibvirtError && e.code === ErrorCode.NO_SUPPORT) return {};
  throw e;
};

export async function nodeStats(rpc: RpcConnection): Promise<NodeStats> {
  const [cpu, mem] = await Promise.all([
    // VIR_NODE_CPU_STATS_ALL_CPUS = -1
    fieldList(rpc, Proc.NODE_GET_CPU_STATS, (n) => (w) => w.int(-1).int(n).uint(0)).catch(unsupportedAsEmpty),
    // VIR_NODE_MEMORY_STATS_ALL_CELLS = -1
    fieldList(rpc, Proc.NODE_GET_MEMORY_STATS, (n) => (w) => w.int(n).int(-1).uint(0)).catch(unsupportedAsEmpty),
  ]);
  if (mem['total'] === undefined) mem['total'] = (await nodeInfo(rpc)).memoryKiB;
  return {
    cpu: { kernelNs: cpu['kernel'] ?? 0, userNs: cpu['user'] ?? 0, idleNs: cpu['idle'] ?? 0, iowaitNs: cpu['iowait'] ?? 0 },
    memory: { totalKiB: mem['total'] ?? 0, freeKiB: mem['free'] ?? 0, buffersKiB: mem['buffers'] ?? 0, cachedKiB: mem['cached'] ?? 0 },
  };
}
