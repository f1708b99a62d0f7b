/**
 * Turns the agent's XML-RPC answers into the store's typed records. The only
 * place that knows the wire shapes of node.info, vm.list, node.stats, vm.stats,
 * events.poll and job.get; tolerant of absent fields (older agents, other VMMs).
 */
import type { XmlRpcValue } from './link.js';
import type { NodeHost } from './model.js';

type Obj = { [key: string]: XmlRpcValue };

export function isObj(v: XmlRpcValue | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

function asObj(v: XmlRpcValue | undefined): Obj {
  return isObj(v) ? v : {};
}

function asArr(v: XmlRpcValue | undefined): XmlRpcValue[] {
  return Array.isArray(v) ? v : [];
}

/** The first of several field names that holds a finite number. */
export function num(o: Obj, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = o[n];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  }
  return undefined;
}

export function str(o: Obj, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = o[n];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

function bool(o: Obj, name: string): boolean | undefined {
  const v = o[name];
  return typeof v === 'boolean' ? v : undefined;
}

export function decodeNodeInfo(v: XmlRpcValue): NodeHost {
  const o = asObj(v);
  const node = asObj(o['node']);
  const libvirt = o['libvirt'];
  const libvirtUp = typeof libvirt === 'string' ? libvirt === 'up' : isObj(libvirt) ? bool(libvirt, 'up') ?? str(libvirt, 'state') !== 'down' : bool(o, 'libvirtUp') ?? true;
  return {
    hostname: str(o, 'hostname') ?? '',
    uri: str(o, 'uri') ?? '',
    driver: str(o, 'driver', 'type') ?? '?',
    hypervisorVersion: str(o, 'hypervisorVersion', 'version') ?? '',
    simulated: bool(o, 'simulated') ?? false,
    cpus: num(node, 'cpus') ?? num(o, 'cpus') ?? 0,
    memoryKiB: num(node, 'memoryKiB') ?? num(o, 'memoryKiB') ?? 0,
    libvirtUp,
  };
}

export interface WireVm {
  name: string;
  uuid: string;
  state: string;
  vcpus: number;
  memKiB: number;
  maxMemKiB: number;
  /** The latest figures the agent collected (vm.list carries them), when present. */
  sample?: VmSample;
}

export function decodeVmList(v: XmlRpcValue): WireVm[] {
  const list = Array.isArray(v) ? v : asArr(asObj(v)['vms']);
  const out: WireVm[] = [];
  for (const item of list) {
    const o = asObj(item);
    const name = str(o, 'name');
    if (name === undefined) continue;
    out.push({
      name,
      uuid: str(o, 'uuid') ?? '',
      state: str(o, 'state') ?? 'nostate',
      vcpus: num(o, 'vcpus', 'nrVirtCpu') ?? 0,
      memKiB: num(o, 'memKiB', 'memoryKiB', 'currentMemKiB') ?? 0,
      maxMemKiB: num(o, 'maxMemKiB', 'maxMemoryKiB') ?? 0,
      ...(num(o, 'seenAt') !== undefined || num(o, 'cpuPct') !== undefined ? { sample: { ...decodeVmSample(o, name), t: num(o, 'seenAt') ?? 0 } } : {}),
    });
  }
  return out;
}

export interface NodeSample {
  t: number;
  cpuPct?: number;
  memUsedKiB?: number;
  memTotalKiB?: number;
}

export interface VmSample {
  name: string;
  t: number;
  cpuPct?: number;
  memPct?: number;
  memUsedKiB?: number;
  diskRdBps?: number;
  diskWrBps?: number;
  netRxBps?: number;
  netTxBps?: number;
}

export interface Page<T> {
  cursor: XmlRpcValue;
  samples: T[];
}

function time(o: Obj): number {
  const t = o['t'] ?? o['time'] ?? o['at'];
  if (t instanceof Date) return t.getTime();
  return typeof t === 'number' ? t : 0;
}

export function decodeNodeSample(o: Obj): NodeSample {
  const mem = asObj(o['memory']);
  const total = num(o, 'memTotalKiB') ?? num(mem, 'totalKiB');
  const free = num(mem, 'freeKiB', 'availableKiB');
  let used = num(o, 'memUsedKiB') ?? num(mem, 'usedKiB');
  if (used === undefined && total !== undefined && free !== undefined) used = total - free - (num(mem, 'buffersKiB') ?? 0) - (num(mem, 'cachedKiB') ?? 0);
  return { t: time(o), cpuPct: num(o, 'cpuPct', 'cpu_pct', 'cpu'), memUsedKiB: used, memTotalKiB: total };
}

export function decodeVmSample(o: Obj, name?: string): VmSample {
  return {
    name: name ?? str(o, 'name', 'vm') ?? '',
    t: time(o),
    cpuPct: num(o, 'cpuPct', 'cpu_pct', 'cpu'),
    memPct: num(o, 'memPct', 'mem_pct'),
    memUsedKiB: num(o, 'memUsedKiB', 'memKiB'),
    diskRdBps: num(o, 'diskRdBps', 'diskReadBps', 'blockRdBps'),
    diskWrBps: num(o, 'diskWrBps', 'diskWriteBps', 'blockWrBps'),
    netRxBps: num(o, 'netRxBps'),
    netTxBps: num(o, 'netTxBps'),
  };
}

/**
 * Columnar history (`{ticks:[...], cols:{cpuPct:[...], ...}}`, or the columns
 * beside `ticks`) expanded to one object per sample; undefined when not columnar.
 */
export function expandColumns(o: Obj): Obj[] | undefined {
  const cols = isObj(o['cols']) ? o['cols'] : isObj(o['columns']) ? o['columns'] : Array.isArray(o['ticks']) || Array.isArray(o['t']) ? o : undefined;
  if (!cols) return undefined;
  const ticks = asArr(o['ticks'] ?? cols['ticks']);
  const times = asArr(o['t'] ?? o['times'] ?? cols['t'] ?? cols['times']);
  const skip = new Set(['ticks', 'times', 't']);
  const arrays = Object.entries(cols).filter((e): e is [string, XmlRpcValue[]] => Array.isArray(e[1]) && !skip.has(e[0]));
  const n = Math.max(ticks.length, ...arrays.map(([, a]) => a.length));
  const out: Obj[] = [];
  for (let i = 0; i < n; i++) {
    const s: Obj = { t: times[i] ?? ticks[i] ?? i };
    for (const [k, a] of arrays) s[k] = a[i] ?? null;
    out.push(s);
  }
  return out;
}

/** node.stats(cursor): `{cursor, samples:[...]}`, columnar, or a bare sample. */
export function decodeNodeStats(v: XmlRpcValue): Page<NodeSample> {
  const o = asObj(v);
  const colsOf = expandColumns(isObj(o['history']) ? o['history'] : o);
  if (colsOf) return { cursor: o['cursor'] ?? null, samples: colsOf.map(decodeNodeSample) };
  const list = asArr(o['samples'] ?? o['history']);
  if (list.length === 0 && o['samples'] === undefined && o['history'] === undefined) return { cursor: o['cursor'] ?? null, samples: [decodeNodeSample(o)] };
  return { cursor: o['cursor'] ?? null, samples: list.map((s) => decodeNodeSample(asObj(s))) };
}

/**
 * vm.stats(cursor): `{cursor, samples:[{name,...}]}`, or `{cursor, vms:{name:[...]}}`,
 * or `{cursor, vms:[{name, samples:[...]}]}`.
 */
export function decodeVmStats(v: XmlRpcValue): Page<VmSample> {
  const o = asObj(v);
  const out: VmSample[] = [];
  for (const s of asArr(o['samples'])) out.push(decodeVmSample(asObj(s)));
  const vms = o['vms'];
  if (isObj(vms)) {
    for (const [name, list] of Object.entries(vms)) {
      const cols = isObj(list) ? expandColumns(list) : undefined;
      if (cols) for (const s of cols) out.push(decodeVmSample(s, name));
      else if (Array.isArray(list)) for (const s of list) out.push(decodeVmSample(asObj(s), name));
      else out.push(decodeVmSample(asObj(list), name));
    }
  } else {
    for (const item of asArr(vms)) {
      const io = asObj(item);
      const name = str(io, 'name') ?? '';
      const list = io['samples'] ?? io['history'];
      const cols = expandColumns(isObj(list) ? list : io);
      if (cols) for (const s of cols) out.push(decodeVmSample(s, name));
      else if (Array.isArray(list)) for (const s of list) out.push(decodeVmSample(asObj(s), name));
      else out.push(decodeVmSample(io, name));
    }
  }
  return { cursor: o['cursor'] ?? null, samples: out };
}

export interface WireEvent {
  kind: string;
  vm?: string;
  event?: string;
  detail?: string;
}

export function decodeEvents(v: XmlRpcValue): { cursor: XmlRpcValue; events: WireEvent[] } {
  const o = asObj(v);
  const events = asArr(o['events']).map((e) => {
    const eo = asObj(e);
    const dom = asObj(eo['domain']);
    return {
      kind: str(eo, 'kind', 'type') ?? 'other',
      vm: str(eo, 'vm', 'name') ?? str(dom, 'name'),
      event: str(eo, 'event'),
      detail: str(eo, 'message', 'detail'),
    };
  });
  return { cursor: o['cursor'] ?? o['next'] ?? null, events };
}

/** job.get: the state and libvirt's job statistics (see JobStats in src/libvirt/hypervisor.ts). */
export interface WireJob {
  id: string;
  state: 'running' | 'completed' | 'failed' | 'cancelled';
  error?: string;
  elapsedMs?: number;
  dataTotal?: number;
  dataProcessed?: number;
  dataRemaining?: number;
  memTotal?: number;
  memProcessed?: number;
  memRemaining?: number;
  memDirtyRate?: number;
  memIteration?: number;
  memBps?: number;
  downtimeMs?: number;
  timeRemainingMs?: number;
}

export function decodeJob(v: XmlRpcValue): WireJob {
  const o = asObj(v);
  const stats = isObj(o['stats']) ? o['stats'] : isObj(o['progress']) ? o['progress'] : o;
  const raw = (str(o, 'state', 'status') ?? 'running').toLowerCase();
  const state: WireJob['state'] = /complet|done|success|finished/.test(raw) ? 'completed' : /fail|error/.test(raw) ? 'failed' : /cancel|abort/.test(raw) ? 'cancelled' : 'running';
  return {
    id: String(o['id'] ?? o['jobId'] ?? ''),
    state,
    error: str(o, 'error', 'message', 'reason'),
    elapsedMs: num(stats, 'timeElapsedMs', 'elapsedMs') ?? num(o, 'elapsedMs'),
    dataTotal: num(stats, 'dataTotal'),
    dataProcessed: num(stats, 'dataProcessed'),
    dataRemaining: num(stats, 'dataRemaining'),
    memTotal: num(stats, 'memTotal'),
    memProcessed: num(stats, 'memProcessed'),
    memRemaining: num(stats, 'memRemaining'),
    memDirtyRate: num(stats, 'memDirtyRate'),
    memIteration: num(stats, 'memIteration'),
    memBps: num(stats, 'memBps'),
    downtimeMs: num(stats, 'downtimeMs', 'expectedDowntimeMs'),
    timeRemainingMs: num(stats, 'timeRemainingMs'),
  };
}
