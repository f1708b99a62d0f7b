import type { AllStatsOptions, BlockStats, DomainMemoryStats, DomainStats, InterfaceStats } from '../hypervisor.js';
import { ProtocolError } from '../errors.js';
import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { XdrReader } from '../xdr/reader.js';
import { readTypedValue, type TypedValue } from '../xdr/typed-params.js';
import { stateName } from './domain.js';
import { LIST_MAX, readDomain, uuidString, writeDomain, type DomainHandle } from './types.js';

/** VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT: skip domains whose job lock is held. */
export const STATS_NOWAIT = 1 << 29;
/** REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX: parameters per domain. */
const PARAMS_MAX = 262144;
/** VIR_DOMAIN_STATS_*: 0 asks for every group the driver supports. */
export const StatsGroup = { ALL: 0, STATE: 1, CPU_TOTAL: 2, BALLOON: 4, VCPU: 8, INTERFACE: 16, BLOCK: 32 } as const;

type Net = NonNullable<DomainStats['net']>[number];
type Block = NonNullable<DomainStats['block']>[number];

const num = (v: TypedValue): number => (typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v));

/** "net.3.rx.bytes" → index 3 and rest "rx.bytes"; -1 when the part after the group is not an index. */
function indexed(field: string, from: number): { i: number; rest: string } {
  let i = 0;
  let p = from;
  const start = p;
  for (; p < field.length; p++) {
    const c = field.charCodeAt(p);
    if (c < 48 || c > 57) break;
    i = i * 10 + (c - 48);
  }
  if (p === start || field.charCodeAt(p) !== 46) return { i: -1, rest: field.slice(from) };
  return { i, rest: field.slice(p + 1) };
}

function netAt(s: DomainStats, i: number): Net {
  const list = (s.net ??= []);
  while (list.length <= i) list.push({ name: '', rxBytes: 0, rxPkts: 0, txBytes: 0, txPkts: 0 });
  return list[i] as Net;
}

function blockAt(s: DomainStats, i: number): Block {
  const list = (s.block ??= []);
  while (list.length <= i) list.push({ name: '', rdBytes: 0, rdReqs: 0, wrBytes: 0, wrReqs: 0 });
  return list[i] as Block;
}

/** Put one typed parameter where DomainStats wants it (raw always keeps it). */
function apply(s: DomainStats, f: string, v: TypedValue): void {
  switch (f.charCodeAt(0)) {
    case 115: // s
      if (f === 'state.state') (s.state ??= { state: 'nostate', reason: 0 }).state = stateName(num(v));
      else if (f === 'state.reason') (s.state ??= { state: 'nostate', reason: 0 }).reason = num(v);
      return;
    case 99: // c
      if (f === 'cpu.time') (s.cpu ??= { timeNs: 0 }).timeNs = num(v);
      else if (f === 'cpu.user') (s.cpu ??= { timeNs: 0 }).userNs = num(v);
      else if (f === 'cpu.system') (s.cpu ??= { timeNs: 0 }).systemNs = num(v);
      return;
    case 98: // b
      if (f.startsWith('balloon.')) {
        const b = (s.balloon ??= { currentKiB: 0, maximumKiB: 0 });
        switch (f) {
          case 'balloon.current': b.currentKiB = num(v); break;
          case 'balloon.maximum': b.maximumKiB = num(v); break;
          case 'balloon.available': b.availableKiB = num(v); break;
          case 'balloon.usable': b.usableKiB = num(v); break;
          case 'balloon.unused': b.unusedKiB = num(v); break;
          case 'balloon.rss': b.rssKiB = num(v); break;
        }
      } else if (f.startsWith('block.')) {
        const { i, rest } = indexed(f, 6);
        // block.count: a VM with no disks has the figure (none), which is not a driver without it.
        if (i < 0) {
          s.block ??= [];
          return;
        }
        const b = blockAt(s, i);
        switch (rest) {
          case 'name': b.name = String(v); break;
          case 'path': b.path = String(v); break;
          case 'rd.bytes': b.rdBytes = num(v); break;
          case 'rd.reqs': b.rdReqs = num(v); break;
          case 'wr.bytes': b.wrBytes = num(v); break;
          case 'wr.reqs': b.wrReqs = num(v); break;
          case 'capacity': b.capacity = num(v); break;
          case 'allocation': b.allocation = num(v); break;
          case 'physical': b.physical = num(v); break;
        }
      }
      return;
    case 118: // v
      if (f.startsWith('vcpu.')) {
        const c = (s.vcpu ??= { current: 0, maximum: 0, timesNs: [] });
        if (f === 'vcpu.current') c.current = num(v);
        else if (f === 'vcpu.maximum') c.maximum = num(v);
        else {
          const { i, rest } = indexed(f, 5);
          if (i >= 0 && rest === 'time') {
            while (c.timesNs.length < i) c.timesNs.push(0);
            c.timesNs[i] = num(v);
          }
        }
      }
      return;
    case 110: // n
      if (f.startsWith('net.')) {
        const { i, rest } = indexed(f, 4);
        if (i < 0) {
          s.net ??= []; // net.count: as block.count
          return;
        }
        const n = netAt(s, i);
        switch (rest) {
          case 'name': n.name = String(v); break;
          case 'rx.bytes': n.rxBytes = num(v); break;
          case 'rx.pkts': n.rxPkts = num(v); break;
          case 'rx.errs': n.rxErrs = num(v); break;
          case 'rx.drop': n.rxDrop = num(v); break;
          case 'tx.bytes': n.txBytes = num(v); break;
          case 'tx.pkts': n.txPkts = num(v); break;
          case 'tx.errs': n.txErrs = num(v); break;
          case 'tx.drop': n.txDrop = num(v); break;
        }
      }
      return;
  }
}

/** Decode remote_connect_get_all_domain_stats_ret straight into DomainStats records (the hot path). */
export function decodeAllStats(body: Buffer): DomainStats[] {
  const r = new XdrReader(body);
  const n = r.uint();
  if (n > LIST_MAX) throw new ProtocolError(`stats for ${n} domains exceed limit ${LIST_MAX}`);
  // A record is at least a domain (24 bytes) and an empty parameter list.
  if (n * 28 > r.remaining()) throw new ProtocolError(`stats for ${n} domains cannot fit in ${r.remaining()} bytes`);
  const out = new Array<DomainStats>(n);
  for (let d = 0; d < n; d++) {
    const dom = readDomain(r);
    const raw: Record<string, TypedValue> = {};
    const s: DomainStats = { name: dom.name, uuid: uuidString(dom.uuid), raw };
    const np = r.uint();
    if (np > PARAMS_MAX || np * 12 > r.remaining()) throw new ProtocolError(`domain ${dom.name}: ${np} stats parameters do not fit`);
    for (let p = 0; p < np; p++) {
      const field = r.string(80);
      const v = readTypedValue(r, 4194304);
      raw[field] = v;
      apply(s, field, v);
    }
    out[d] = s;
  }
  r.done('CONNECT_GET_ALL_DOMAIN_STATS');
  return out;
}

export async function allDomainStats(rpc: RpcConnection, opts: AllStatsOptions & { groups?: number; timeoutMs?: number } = {}): Promise<DomainStats[]> {
  const flags = opts.nowait ? STATS_NOWAIT : 0;
  const body = await rpc.callRaw(
    Proc.CONNECT_GET_ALL_DOMAIN_STATS,
    (w) => w.uint(0).uint(opts.groups ?? StatsGroup.ALL).uint(flags),
    opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {},
  ).reply;
  return decodeAllStats(body);
}

// ---- the per-domain calls (drivers without the bulk one: LXC, libxl) ------------------------

/** REMOTE_DOMAIN_MEMORY_STATS_MAX. */
const MEMORY_STATS_MAX = 1024;
/** How many stats we ask for: VIR_DOMAIN_MEMORY_STAT_NR of current libvirt (13), with room to grow. */
const MEMORY_STATS_ASKED = 16;
/** virDomainMemoryStatTags -> our field; tags not listed (faults, hugetlb, last-update) are left out. */
const MEMORY_TAGS: Record<number, keyof DomainMemoryStats> = {
  0: 'swapInKiB', 1: 'swapOutKiB', 4: 'unusedKiB', 5: 'availableKiB', 6: 'actualKiB', 7: 'rssKiB', 8: 'usableKiB', 10: 'diskCachesKiB',
};

/** remote_domain_memory_stats_ret: a list of (int tag, unsigned hyper val). */
export function decodeMemoryStats(r: XdrReader): DomainMemoryStats {
  const list = r.array(MEMORY_STATS_MAX, (x) => ({ tag: x.int(), val: x.uhyper() }), 12);
  const out: DomainMemoryStats = {};
  for (const { tag, val } of list) {
    const f = MEMORY_TAGS[tag];
    if (f) out[f] = val;
  }
  return out;
}

/** REMOTE_PROC_DOMAIN_MEMORY_STATS (args: dom, maxStats, flags). */
export function memoryStats(rpc: RpcConnection, d: DomainHandle): Promise<DomainMemoryStats> {
  return rpc.call(Proc.DOMAIN_MEMORY_STATS, (w) => (writeDomain(w, d), w.uint(MEMORY_STATS_ASKED).uint(0)), decodeMemoryStats);
}

/** remote_domain_interface_stats_ret: eight hypers, rx then tx. */
export function decodeInterfaceStats(r: XdrReader): InterfaceStats {
  return { rxBytes: r.hyper(), rxPkts: r.hyper(), rxErrs: r.hyper(), rxDrop: r.hyper(), txBytes: r.hyper(), txPkts: r.hyper(), txErrs: r.hyper(), txDrop: r.hyper() };
}

/** REMOTE_PROC_DOMAIN_INTERFACE_STATS (args: dom, device path). */
export function interfaceStats(rpc: RpcConnection, d: DomainHandle, device: string): Promise<InterfaceStats> {
  return rpc.call(Proc.DOMAIN_INTERFACE_STATS, (w) => (writeDomain(w, d), w.string(device)), decodeInterfaceStats);
}

/** remote_domain_block_stats_ret: rd_req, rd_bytes, wr_req, wr_bytes, errs. */
export function decodeBlockStats(r: XdrReader): BlockStats {
  return { rdReqs: r.hyper(), rdBytes: r.hyper(), wrReqs: r.hyper(), wrBytes: r.hyper(), errs: r.hyper() };
}

/** REMOTE_PROC_DOMAIN_BLOCK_STATS (args: dom, disk path; '' = the whole domain where the driver has it). */
export function blockStats(rpc: RpcConnection, d: DomainHandle, device: string): Promise<BlockStats> {
  return rpc.call(Proc.DOMAIN_BLOCK_STATS, (w) => (writeDomain(w, d), w.string(device)), decodeBlockStats);
}
