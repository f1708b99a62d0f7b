/** What the dashboard knows about the cluster: plain records the views read. */
import type { LinkState } from './link.js';
import { Ring } from './ring.js';

export const HISTORY_POINTS = 120;

export interface NodeHost {
  hostname: string;
  uri: string;
  driver: string;
  hypervisorVersion: string;
  simulated: boolean;
  cpus: number;
  memoryKiB: number;
  /** False when the agent reports its libvirt connection down. */
  libvirtUp: boolean;
  /** What the node's driver can do, as node.info reports it (absent from an older agent). */
  capabilities?: NodeCapabilities;
}

/** node.info's capabilities: the features the driver lacks (the agent's names) with libvirt's reason. */
export interface NodeCapabilities {
  unsupported: Readonly<Record<string, string>>;
  statsRoute?: 'bulk' | 'per-domain';
}

export interface NodeRecord {
  name: string;
  link: LinkState;
  linkDetail?: string;
  host?: NodeHost;
  cpuPct?: number;
  memUsedKiB?: number;
  memTotalKiB?: number;
  cpuHist: Ring;
  memHist: Ring;
  vmCount: number;
  running: number;
  /** Sum of the running VMs' memory, for fit checks. */
  vmMemKiB: number;
  vmVcpus: number;
  /** Last error from this node's poller, shown in the overview. */
  error?: string;
  /** When the node's agent last answered with VM data (ms since the epoch). */
  lastAnswerAt?: number;
}

/**
 * Since when a node's VM rows are stale: the time of its last answer while its link is
 * not up or its agent reports an error (libvirt down); undefined while it answers.
 */
export function staleSince(n: NodeRecord | undefined): number | undefined {
  if (!n || (n.link === 'up' && n.error === undefined)) return undefined;
  return n.lastAnswerAt ?? 0;
}

export interface VmRecord {
  /** node/name: VM names are unique per node only. */
  key: string;
  name: string;
  node: string;
  uuid: string;
  state: string;
  vcpus: number;
  memKiB: number;
  maxMemKiB: number;
  cpuPct?: number;
  memPct?: number;
  diskRdBps?: number;
  diskWrBps?: number;
  netRxBps?: number;
  netTxBps?: number;
  cpuHist: Ring;
  memHist: Ring;
  diskHist: Ring;
  netHist: Ring;
  /** When the agent last collected this VM (ms), so one collection is not counted twice. */
  seenAt?: number;
}

export function newNode(name: string, link: LinkState): NodeRecord {
  return { name, link, cpuHist: new Ring(HISTORY_POINTS), memHist: new Ring(HISTORY_POINTS), vmCount: 0, running: 0, vmMemKiB: 0, vmVcpus: 0 };
}

export function newVm(node: string, name: string): VmRecord {
  return {
    key: `${node}/${name}`,
    name,
    node,
    uuid: '',
    state: 'nostate',
    vcpus: 0,
    memKiB: 0,
    maxMemKiB: 0,
    cpuHist: new Ring(HISTORY_POINTS),
    memHist: new Ring(HISTORY_POINTS),
    diskHist: new Ring(HISTORY_POINTS),
    netHist: new Ring(HISTORY_POINTS),
  };
}

export function isActive(state: string): boolean {
  return state === 'running' || state === 'paused' || state === 'blocked' || state === 'pmsuspended';
}

export interface ClusterTotals {
  nodes: number;
  nodesUp: number;
  vms: number;
  running: number;
  cpus: number;
  /** Weighted by each node's CPU count. */
  cpuPct: number;
  memUsedKiB: number;
  memTotalKiB: number;
  simulated: boolean;
}

export function totals(nodes: Iterable<NodeRecord>): ClusterTotals {
  const t: ClusterTotals = { nodes: 0, nodesUp: 0, vms: 0, running: 0, cpus: 0, cpuPct: 0, memUsedKiB: 0, memTotalKiB: 0, simulated: false };
  let cpuWeighted = 0;
  for (const n of nodes) {
    t.nodes++;
    if (n.link === 'up') t.nodesUp++;
    t.vms += n.vmCount;
    t.running += n.running;
    const cpus = n.host?.cpus ?? 0;
    t.cpus += cpus;
    cpuWeighted += (n.cpuPct ?? 0) * cpus;
    t.memUsedKiB += n.memUsedKiB ?? 0;
    t.memTotalKiB += n.memTotalKiB ?? n.host?.memoryKiB ?? 0;
    if (n.host?.simulated) t.simulated = true;
  }
  t.cpuPct = t.cpus > 0 ? cpuWeighted / t.cpus : 0;
  return t;
}
