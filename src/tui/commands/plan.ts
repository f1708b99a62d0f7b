/** Pure placement logic for migration and evacuation: does a VM fit, and where do a node's VMs go. */
import type { NodeRecord, VmRecord } from '../store/model.js';
import { isActive } from '../store/model.js';
import { planEvacuation as planBalancerEvacuation, type EvacNode, type EvacVm, type EvacVmState } from '../../balancer/evacuate.js';
import { canMigrateFrom } from '../../balancer/live.js';

const KIB_PER_MIB = 1024;

export interface Fit {
  node: string;
  fits: boolean;
  /** Memory left for VMs on the target after this one, KiB (negative when it does not fit). */
  freeAfterKiB: number;
  reason?: string;
  /** Not a target at all (another driver, or one that cannot migrate), whatever the memory. */
  excluded?: boolean;
}

/** Memory a node can still give to VMs: its total minus what its active VMs hold. */
export function freeForVmsKiB(n: NodeRecord, extraKiB = 0): number {
  const total = n.host?.memoryKiB ?? n.memTotalKiB ?? 0;
  return total - n.vmMemKiB - extraKiB;
}

/**
 * What the balancer's planners (evacuation here, level 2 in balance.ts) are told of a
 * node's driver: its name to compare (a simulated LXC node is not a real one, nor the
 * plain simulator QEMU) and what it can migrate, each left out when node.info has not said.
 */
export function plannerDriver(n: NodeRecord): { driver?: string; canMigrate?: { live?: boolean; offline?: boolean } } {
  const h = n.host;
  return {
    ...(h?.driver ? { driver: h.simulated ? `${h.driver} (SIMULATED)` : h.driver } : {}),
    ...(h?.capabilities ? { canMigrate: canMigrateFrom(h.capabilities.unsupported) } : {}),
  };
}

/** Memory a node has for VMs as the planners count it, MiB (node.info's, else the last node.stats total). */
export function plannerMemMiB(n: NodeRecord): number {
  return (n.host?.memoryKiB ?? n.memTotalKiB ?? 0) / KIB_PER_MIB;
}

/**
 * Why the VM cannot go from `source` to `target` whatever the memory: another driver there (a
 * container does not run on a QEMU node), or a driver that cannot migrate (node.info's capabilities).
 * Undefined when nothing is known against it.
 */
export function driverRefusal(vm: VmRecord, source: NodeRecord | undefined, target: NodeRecord): string | undefined {
  const here = source ? plannerDriver(source) : {};
  const there = plannerDriver(target);
  const from = here.driver;
  const to = there.driver;
  if (from && to && from !== to) {
    // The driver names, with SIMULATED only where that is the whole difference.
    const [a, b] = source?.host?.driver === target.host?.driver ? [from, to] : [source?.host?.driver, target.host?.driver];
    return `different driver (${a ?? ''} here, ${b ?? ''} there)`;
  }
  const live = isActive(vm.state);
  const src = here.canMigrate;
  if (src && !(live ? src.live : src.offline)) return `the ${source?.host?.driver ?? ''} driver cannot ${live ? 'live-migrate' : 'migrate a stopped VM'}`;
  const dst = there.canMigrate;
  if (dst && !(live ? dst.live : dst.offline)) return `the ${target.host?.driver ?? ''} driver there cannot ${live ? 'live-migrate' : 'take a stopped VM'}`;
  return undefined;
}

export function fitOn(vm: VmRecord, target: NodeRecord, reservedKiB = 0, source?: NodeRecord): Fit {
  if (target.name === vm.node) return { node: target.name, fits: false, freeAfterKiB: 0, reason: 'same node' };
  if (target.link !== 'up') return { node: target.name, fits: false, freeAfterKiB: 0, reason: `link ${target.link}` };
  if (target.host && !target.host.libvirtUp) return { node: target.name, fits: false, freeAfterKiB: 0, reason: 'libvirt down' };
  const no = driverRefusal(vm, source, target);
  if (no) return { node: target.name, fits: false, freeAfterKiB: 0, reason: no, excluded: true };
  const need = vm.memKiB || vm.maxMemKiB;
  const after = freeForVmsKiB(target, reservedKiB) - need;
  return after >= 0 ? { node: target.name, fits: true, freeAfterKiB: after } : { node: target.name, fits: false, freeAfterKiB: after, reason: 'not enough memory' };
}

/** Fit of a VM on every other node, fitting ones first, then by most memory left. */
export function targetsFor(vm: VmRecord, nodes: Iterable<NodeRecord>): Fit[] {
  const all = [...nodes];
  const source = all.find((n) => n.name === vm.node);
  const out: Fit[] = [];
  for (const n of all) if (n.name !== vm.node) out.push(fitOn(vm, n, 0, source));
  return out.sort((a, b) => Number(b.fits) - Number(a.fits) || b.freeAfterKiB - a.freeAfterKiB || a.node.localeCompare(b.node));
}

export interface EvacuationStep {
  vm: VmRecord;
  target?: string;
  /** Live (running, paused) or offline (stopped). */
  live?: boolean;
  estSeconds?: number;
  /** Why it stays, when it has no target: a VM is never left out in silence. */
  reason?: string;
}

function evacState(s: string): EvacVmState {
  return s === 'running' ? 'running' : s === 'paused' || s === 'pmsuspended' ? 'paused' : 'stopped';
}

/** The dashboard's nodes as the balancer's evacuation planner sees them (memory other VMs hold counts as reserved). */
export function evacNodes(nodes: Iterable<NodeRecord>, vms: readonly VmRecord[]): EvacNode[] {
  const listed = new Map<string, number>();
  for (const v of vms) if (isActive(v.state)) listed.set(v.node, (listed.get(v.node) ?? 0) + v.memKiB);
  const out: EvacNode[] = [];
  for (const n of nodes) {
    const closed = n.link !== 'up' ? `link ${n.link}` : n.host && !n.host.libvirtUp ? 'libvirt down' : !n.host ? 'not known yet' : undefined;
    out.push({
      name: n.name,
      cores: n.host?.cpus ?? 0,
      memMiB: plannerMemMiB(n),
      reservedMiB: Math.max(0, n.vmMemKiB - (listed.get(n.name) ?? 0)) / KIB_PER_MIB,
      ...(closed ? { closed } : {}),
      ...plannerDriver(n),
    });
  }
  return out;
}

/** Memory a VM needs on a target as the planners count it, MiB (its current size, else its maximum). */
export function plannerVmMemMiB(v: VmRecord): number {
  return (v.memKiB || v.maxMemKiB) / KIB_PER_MIB;
}

/** A VM's CPU % (of its whole node, the agent's measure) as the planners' demand: cores, at most its vCPUs. */
export function plannerCores(v: VmRecord, nodes: ReadonlyMap<string, NodeRecord>, pct: number): number {
  return Math.min(v.vcpus, (pct / 100) * (nodes.get(v.node)?.host?.cpus ?? v.vcpus));
}

export function evacVms(vms: readonly VmRecord[], nodes: ReadonlyMap<string, NodeRecord>, migrating: (key: string) => boolean = () => false): EvacVm[] {
  return vms.map((v) => ({
    name: v.key,
    node: v.node,
    state: evacState(v.state),
    memMiB: plannerVmMemMiB(v),
    cpu: v.state === 'running' ? plannerCores(v, nodes, v.cpuPct ?? 0) : 0,
    ...(migrating(v.key) ? { migrating: true } : {}),
  }));
}

/**
 * Where each VM of a node goes when it is evacuated, by the balancer's one
 * evacuation planner (the same as `vem balance plan --evacuate`): running and
 * paused VMs live, stopped ones offline, and every VM that cannot go named with
 * why. `vms` is every VM of the cluster (targets' load counts).
 */
export function planEvacuation(node: string, nodes: NodeRecord[], vms: VmRecord[], migrating?: (key: string) => boolean): EvacuationStep[] {
  const plan = planBalancerEvacuation([node], evacNodes(nodes, vms), evacVms(vms, new Map(nodes.map((n) => [n.name, n])), migrating));
  const byKey = new Map(vms.map((v) => [v.key, v]));
  const steps: EvacuationStep[] = [];
  for (const m of plan.moves) {
    const vm = byKey.get(m.vm);
    if (vm) steps.push({ vm, target: m.to, live: m.mode === 'live', estSeconds: m.estSeconds });
  }
  for (const r of plan.remaining) {
    const vm = byKey.get(r.vm);
    if (vm) steps.push({ vm, reason: r.reason });
  }
  return steps;
}
