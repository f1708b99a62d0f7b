/**
 * The agent's typed answers (src/api) turned into the store's records. The wire
 * shapes are declared in src/api and checked by the client; here only the
 * dashboard's view of them is made (columns into samples, status into state).
 */
import { checked } from '../../api/client.js';
import { api, type AgentEvent, type EventsPage, type Job, type NodeInfo, type NodeStats, type VmInventory, type VmRow, type VmStats, type WatchAnswer } from '../../api/index.js';
import { unpackFloat32, unpackInt32 } from '../../api/packed.js';
import { isStruct, type XmlRpcValue } from '../../common/xmlrpc/value.js';
import type { NodeHost } from './model.js';

/** Whether a value is a struct (the command layer reads generic answers with it). */
export const isObj = isStruct;

export function decodeNodeInfo(o: NodeInfo): NodeHost {
  return {
    hostname: o.hostname ?? '',
    uri: o.uri ?? '',
    driver: o.driver ?? '?',
    hypervisorVersion: o.hypervisorVersion ?? '',
    simulated: o.simulated ?? false,
    cpus: o.node?.cpus ?? 0,
    memoryKiB: o.node?.memoryKiB ?? 0,
    libvirtUp: o.libvirt.up,
    ...(o.capabilities ? { capabilities: { unsupported: { ...o.capabilities.unsupported }, ...(o.capabilities.statsRoute ? { statsRoute: o.capabilities.statsRoute } : {}) } } : {}),
  };
}

export interface WireVm {
  name: string;
  uuid: string;
  state: string;
  vcpus: number;
  memKiB: number;
  maxMemKiB: number;
  /** The latest figures the agent collected. */
  sample?: VmSample;
}

export function decodeVmRow(r: VmRow): WireVm {
  return {
    name: r.name,
    uuid: r.uuid,
    state: r.state,
    vcpus: r.vcpus,
    memKiB: r.memKiB,
    maxMemKiB: r.maxMemKiB,
    sample: { name: r.name, t: r.seenAt, cpuPct: r.cpuPct, memUsedKiB: r.memUsedKiB, diskRdBps: r.diskRdBps, diskWrBps: r.diskWrBps, netRxBps: r.netRxBps, netTxBps: r.netTxBps },
  };
}

export function decodeVmList(rows: VmRow[]): WireVm[] {
  return rows.map(decodeVmRow);
}

/** A VM's inventory from vm.watch (no figures: those come packed, for the shown VMs only). */
export function inventoryVm(i: VmInventory): WireVm {
  return { name: i.name, uuid: i.uuid, state: i.state, vcpus: i.vcpus, memKiB: i.memKiB, maxMemKiB: i.maxMemKiB };
}

/** NaN in a packed column: the node's driver cannot give that figure (shown as absent, not 0). */
function given(v: number | undefined): number | undefined {
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

/** vm.watch's packed figures as one sample per VM, by the keys of the inventory held. */
export function liveSamples(w: WatchAnswer, names: ReadonlyMap<number, string>): VmSample[] {
  const l = w.live;
  const keys = unpackInt32(l.keys, 'keys');
  const cols = {
    cpuPct: unpackFloat32(l.cpuPct, 'cpuPct'),
    memUsedKiB: unpackFloat32(l.memUsedKiB, 'memUsedKiB'),
    diskRdBps: unpackFloat32(l.diskRdBps, 'diskRdBps'),
    diskWrBps: unpackFloat32(l.diskWrBps, 'diskWrBps'),
    netRxBps: unpackFloat32(l.netRxBps, 'netRxBps'),
    netTxBps: unpackFloat32(l.netTxBps, 'netTxBps'),
  };
  for (const [k, c] of Object.entries(cols)) if (c.length !== keys.length) throw new RangeError(`vm.watch: packed column ${k} has ${c.length} values for ${keys.length} keys`);
  const out: VmSample[] = [];
  for (let i = 0; i < keys.length; i++) {
    const name = names.get(keys[i] as number);
    if (name === undefined) continue; // a VM from before our inventory: the next full answer brings it
    out.push({
      name,
      t: w.seenAt,
      cpuPct: cols.cpuPct[i],
      memUsedKiB: given(cols.memUsedKiB[i]),
      diskRdBps: given(cols.diskRdBps[i]),
      diskWrBps: given(cols.diskWrBps[i]),
      netRxBps: given(cols.netRxBps[i]),
      netTxBps: given(cols.netTxBps[i]),
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
  memUsedKiB?: number;
  diskRdBps?: number;
  diskWrBps?: number;
  netRxBps?: number;
  netTxBps?: number;
}

export interface Page<T> {
  cursor: number;
  samples: T[];
}

/** node.stats' columns, one sample per time. */
export function decodeNodeStats(s: NodeStats): Page<NodeSample> {
  return { cursor: s.cursor, samples: s.t.map((t, i) => ({ t, cpuPct: s.cpuPct[i], memUsedKiB: s.memUsedKiB[i], memTotalKiB: s.memTotalKiB[i] })) };
}

/** vm.stats' columns, one sample per time. */
export function decodeVmStats(s: VmStats): Page<VmSample> {
  return {
    cursor: s.cursor,
    samples: s.t.map((t, i) => ({
      name: s.vm,
      t,
      cpuPct: s.cpuPct[i],
      memUsedKiB: s.memUsedKiB?.[i],
      diskRdBps: s.diskRdBps?.[i],
      diskWrBps: s.diskWrBps?.[i],
      netRxBps: s.netRxBps?.[i],
      netTxBps: s.netTxBps?.[i],
    })),
  };
}

/** An agent event as the dashboard keeps it; `detail` is the agent's struct (uuid, reason, job, ...). */
export type WireEvent = AgentEvent;

export function decodeEvents(p: EventsPage): { cursor: number; events: WireEvent[]; missed: boolean; agentStart: number } {
  return { cursor: p.cursor, events: p.events, missed: p.missed, agentStart: p.agentStart };
}

/** job.get as the migration and clone followers show it. */
export interface WireJob {
  id: string;
  state: Job['status'];
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
  percent?: number;
  /** The disks libvirt copies (no disk copy: absent). */
  diskTotal?: number;
  diskProcessed?: number;
  diskRemaining?: number;
  /** A migration's disk plan, and what a failure removed from the target. */
  storage?: Job['storage'];
}

export function jobView(j: Job): WireJob {
  const p = j.progress;
  return {
    id: j.id,
    state: j.status,
    error: j.reason,
    elapsedMs: p?.timeElapsedMs ?? j.elapsedMs,
    dataTotal: p?.dataTotal,
    dataProcessed: p?.dataProcessed,
    dataRemaining: p?.dataRemaining,
    memTotal: p?.memTotal,
    memProcessed: p?.memProcessed,
    memRemaining: p?.memRemaining,
    memDirtyRate: p?.memDirtyRate,
    memIteration: p?.memIteration,
    memBps: p?.memBps,
    downtimeMs: p?.expectedDowntimeMs,
    timeRemainingMs: p?.timeRemainingMs,
    percent: p?.percent,
    diskTotal: p?.diskTotal,
    diskProcessed: p?.diskProcessed,
    diskRemaining: p?.diskRemaining,
    storage: j.storage,
  };
}

/** A raw job.get answer (the command layer's generic call), checked against the declared job type. */
export function decodeJob(v: XmlRpcValue): WireJob {
  return jobView(checked(api.job.get, v));
}
