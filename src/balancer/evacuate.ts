/**
 * The one evacuation planner (CLI, dashboard, automatic mode): where every VM
 * of the nodes being emptied goes, and for each VM that cannot go, a line that
 * names it and says why. Nothing is dropped in silence: an admin powers off a
 * node on the strength of this plan.
 *
 * - Running VMs move live and need memory (and CPU under the ceiling) on the target.
 * - Paused VMs move live (they stay paused there) or are kept, as the caller chooses.
 * - Stopped VMs move offline (their definition); they need no room now, but
 *   prefer a node where they would fit when started.
 * - A VM only goes to a node of the same driver, that takes VMs, whose driver can
 *   receive that kind of migration, and where no VM shares an anti-affinity label.
 * - A running VM's disks must be placeable on the target by vm.migrate's rule
 *   (src/common/migrate-storage.ts) when both are known; the copy adds to its time.
 * - VMs of one node bound by strict positive affinity (a label in common) go together,
 *   to one node with room for all of them, or all stay.
 * Biggest VMs first, each onto the node left least loaded (memory or CPU, whichever
 * is fuller) so room stays spread out. Pure: plain data in, a plan out.
 */
import { diskCopy, type TargetPool, type VmDisks } from '../common/migrate-storage.js';
import { migrationSeconds } from './cluster.js';

export type EvacVmState = 'running' | 'paused' | 'stopped';
export type MigrationMode = 'live' | 'offline';
/** What to do with a paused VM: move it live (it stays paused), or leave it where it is (named in the plan). */
export type PausedChoice = 'live' | 'keep';

export interface EvacNode {
  name: string;
  cores: number;
  memMiB: number;
  /** Why the node takes no VMs (maintenance, unreachable, libvirt down); absent when it does. */
  closed?: string;
  /** Hypervisor driver (QEMU, LXC, Xen, ...): a VM only moves between nodes of the same driver when both are known. */
  driver?: string;
  /** What the node's driver can do; each defaults to true. */
  canMigrate?: { live?: boolean; offline?: boolean };
  /** Memory and CPU already promised beyond the VMs listed (migrations arriving), MiB and cores. */
  reservedMiB?: number;
  reservedCpu?: number;
  /** Its running storage pools as a migration target; absent = unknown (disks not checked, not costed). */
  pools?: TargetPool[];
}

export interface EvacVm {
  name: string;
  node: string;
  state: EvacVmState;
  memMiB: number;
  /** CPU demand in cores (0 when unknown or not running). */
  cpu?: number;
  /** Page-dirtying rate, MiB/s, for the time estimate. */
  dirtyMiBs?: number;
  antiAffinity?: string[];
  /** Strict positive affinity labels: VMs sharing one stay on one node. */
  affinity?: string[];
  /** A migration of this VM runs now: it is not planned again. */
  migrating?: boolean;
  /** Why this VM cannot migrate at all (host devices, local-only storage...), when the caller knows. */
  cannotMigrate?: string;
  /** Its disks with their sizes; absent = unknown. */
  disks?: VmDisks;
}

export interface EvacuationOptions {
  paused?: PausedChoice;
  /** A target's CPU demand may reach this share of its cores (default 1: no overcommit of demand). */
  cpuCeiling?: number;
  bandwidthMiBs?: number;
}

export interface EvacMove {
  vm: string;
  from: string;
  to: string;
  mode: MigrationMode;
  state: EvacVmState;
  estSeconds: number;
  /** Disk bytes the move copies; absent when unknown (estSeconds is then memory alone). */
  diskBytes?: number;
}

/** Why a VM stays: the kind (for programs) and the sentence (for people). */
export type RemainingCode = 'only-node' | 'no-target' | 'no-room' | 'anti-affinity' | 'storage' | 'cannot-migrate' | 'migrating' | 'kept' | 'affinity';

export interface Remaining {
  vm: string;
  node: string;
  state: EvacVmState;
  code: RemainingCode;
  reason: string;
}

export interface EvacNodeSummary {
  node: string;
  /** VMs on the node before the plan. */
  vms: number;
  moving: number;
  /** VMs the node still holds once every planned move is done. */
  holds: number;
}

export interface EvacuationPlan {
  moves: EvacMove[];
  remaining: Remaining[];
  nodes: EvacNodeSummary[];
}

interface Target {
  node: EvacNode;
  mem: number;
  cpu: number;
  /** Anti-affinity label -> VMs on the node holding it. */
  labels: Map<string, string[]>;
}

const MIB_PER_GIB = 1024;
function size(mib: number): string {
  return mib >= MIB_PER_GIB ? `${(mib / MIB_PER_GIB).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
}
function sameDriver(a?: string, b?: string): boolean {
  return a === undefined || b === undefined || a.toLowerCase() === b.toLowerCase();
}
function can(n: EvacNode, mode: MigrationMode): boolean {
  return n.canMigrate?.[mode] ?? true;
}
/** VMs that hold memory and CPU where they are. */
function active(s: EvacVmState): boolean {
  return s !== 'stopped';
}
const STATE_ORDER: Record<EvacVmState, number> = { running: 0, paused: 1, stopped: 2 };
const LIST_MAX = 4;

function joinReasons(parts: string[]): string {
  return parts.length <= LIST_MAX ? parts.join('; ') : `${parts.slice(0, LIST_MAX).join('; ')}; +${parts.length - LIST_MAX} more`;
}

/**
 * The leaving VMs in units: VMs of one node sharing a strict affinity label (transitively)
 * form one unit, in the place of its first member in the list's order; others are alone.
 */
function bundles(list: readonly EvacVm[]): EvacVm[][] {
  const unitOf = new Map<string, EvacVm[]>();
  const units: EvacVm[][] = [];
  for (const v of list) {
    const keys = (v.affinity ?? []).map((l) => `${v.node}\u0000${l}`);
    const found = [...new Set(keys.map((k) => unitOf.get(k)).filter((u): u is EvacVm[] => u !== undefined))];
    let u: EvacVm[];
    if (found.length === 0) {
      u = [v];
      units.push(u);
    } else {
      // Join every unit this VM touches into the first.
      u = found[0] as EvacVm[];
      for (const other of found.slice(1)) {
        u.push(...other);
        units.splice(units.indexOf(other), 1);
        for (const [k, x] of unitOf) if (x === other) unitOf.set(k, u);
      }
      u.push(v);
    }
    for (const k of keys) unitOf.set(k, u);
  }
  return units;
}

/** A bundle as one VM for the target search: running if any member is, its active members' memory and CPU. */
function bundleAsOne(unit: readonly EvacVm[]): EvacVm {
  const on = unit.filter((m) => active(m.state));
  const first = unit[0] as EvacVm;
  return {
    name: unit.map((m) => m.name).join('+'), node: first.node, state: on.length > 0 ? 'running' : 'stopped',
    memMiB: (on.length > 0 ? on : unit).reduce((s, m) => s + m.memMiB, 0), cpu: on.reduce((s, m) => s + (m.cpu ?? 0), 0),
    antiAffinity: [...new Set(unit.flatMap((m) => m.antiAffinity ?? []))],
    // Together, the members' disks must fit one node's pools at once; one member unknown makes the bundle's unknown.
    ...(unit.every((m) => m.disks !== undefined)
      ? { disks: { ...(first.disks?.domainType !== undefined ? { domainType: first.disks.domainType } : {}), disks: unit.flatMap((m) => m.disks?.disks ?? []) } }
      : {}),
  };
}

/** A running or paused VM's disks on node n, by vm.migrate's rule (a stopped VM moves its definition only); undefined = unknown. */
function disksOn(v: EvacVm, n: EvacNode, pools: Map<string, TargetPool[]>): ReturnType<typeof diskCopy> | undefined {
  const p = pools.get(n.name);
  if (!active(v.state) || !v.disks || !p) return undefined;
  return diskCopy(v.disks, { node: n.name, pools: p });
}

export function planEvacuation(evacuate: readonly string[], nodes: readonly EvacNode[], vms: readonly EvacVm[], o: EvacuationOptions = {}): EvacuationPlan {
  const ceiling = o.cpuCeiling ?? 1;
  const bw = o.bandwidthMiBs ?? 119;
  const paused = o.paused ?? 'live';
  const leaving = new Set(evacuate);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const targets = new Map<string, Target>();
  for (const n of nodes) targets.set(n.name, { node: n, mem: n.reservedMiB ?? 0, cpu: n.reservedCpu ?? 0, labels: new Map() });
  for (const v of vms) {
    const t = targets.get(v.node);
    if (!t) continue;
    if (active(v.state)) {
      t.mem += v.memMiB;
      t.cpu += v.cpu ?? 0;
    }
    for (const l of v.antiAffinity ?? []) t.labels.set(l, [...(t.labels.get(l) ?? []), v.name]);
  }

  // The targets' pools, their free space less the copies planned into them.
  const pools = new Map<string, TargetPool[]>();
  for (const n of nodes) if (n.pools) pools.set(n.name, n.pools.map((p) => ({ ...p })));
  const moves: EvacMove[] = [];
  const remaining: Remaining[] = [];
  const stay = (v: EvacVm, code: RemainingCode, reason: string): void => {
    remaining.push({ vm: v.name, node: v.node, state: v.state, code, reason });
  };

  const list = vms.filter((v) => leaving.has(v.node));
  list.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.memMiB - a.memMiB || (b.cpu ?? 0) - (a.cpu ?? 0) || a.name.localeCompare(b.name));
  const others = nodes.filter((n) => !leaving.has(n.name));

  /** Why this one VM cannot leave, whatever the targets; undefined when it can. */
  const blocked = (v: EvacVm): [RemainingCode, string] | undefined => {
    const src = byName.get(v.node) ?? { name: v.node, cores: 0, memMiB: 0 };
    if (v.migrating) return ['migrating', 'a migration of it is already running; it counts once that ends'];
    if (v.state === 'paused' && paused === 'keep') return ['kept', 'paused; kept here as asked (move it live with --paused live)'];
    if (v.cannotMigrate !== undefined) return ['cannot-migrate', `cannot migrate: ${v.cannotMigrate}`];
    const mode: MigrationMode = v.state === 'stopped' ? 'offline' : 'live';
    if (!can(src, mode)) return ['cannot-migrate', `the ${src.driver ?? 'node\'s'} driver on ${src.name} cannot migrate a ${v.state} VM (${mode})`];
    return undefined;
  };

  for (const unit of bundles(list)) {
    // A bundle is placed as one VM holding all its members' memory, CPU and anti-affinity labels.
    const v: EvacVm = unit.length === 1 ? (unit[0] as EvacVm) : bundleAsOne(unit);
    const src = byName.get(v.node) ?? { name: v.node, cores: 0, memMiB: 0 };
    const stops = unit.map((m) => [m, blocked(m)] as const).filter(([, b]) => b !== undefined);
    if (stops.length > 0) {
      for (const [m, b] of stops) stay(m, (b as [RemainingCode, string])[0], (b as [RemainingCode, string])[1]);
      const names = stops.map(([m]) => m.name).join(', ');
      for (const m of unit) if (!stops.some(([x]) => x === m)) stay(m, 'affinity', `bound by strict affinity to ${names}, which stays`);
      continue;
    }
    const mode: MigrationMode = v.state === 'stopped' ? 'offline' : 'live';
    if (others.length === 0 && nodes.length <= 1) {
      stay(v, 'only-node', `${src.name} is the only node in the cluster: there is nowhere to move it`);
      continue;
    }
    if (others.length === 0) {
      stay(v, 'no-target', 'every node in the cluster is being evacuated');
      continue;
    }
    const cpu = active(v.state) ? v.cpu ?? 0 : 0;
    const need = active(v.state) ? v.memMiB : 0;
    const why: string[] = [];
    let room = false;
    let affinity = false;
    let storage = false;
    let best: { t: Target; load: number; fits: boolean } | undefined;
    for (const n of others) {
      const t = targets.get(n.name) as Target;
      if (n.closed !== undefined) {
        why.push(`${n.name}: ${n.closed}`);
        continue;
      }
      if (!sameDriver(src.driver, n.driver)) {
        why.push(`${n.name}: driver ${n.driver ?? '?'}, not ${src.driver ?? '?'}`);
        continue;
      }
      if (!can(n, mode)) {
        why.push(`${n.name}: its ${n.driver ?? ''} driver cannot receive a ${mode} migration`.replace('its  driver', 'its driver'));
        continue;
      }
      const clash = (v.antiAffinity ?? []).flatMap((l) => (t.labels.get(l) ?? []).map((x) => `${x} (${l})`));
      if (clash.length > 0) {
        affinity = true;
        why.push(`${n.name}: anti-affinity with ${clash.join(', ')}`);
        continue;
      }
      const dc = disksOn(v, n, pools);
      if (dc && 'refusal' in dc) {
        storage = true;
        why.push(`${n.name}: ${dc.refusal}`);
        continue;
      }
      const memAfter = t.mem + need;
      const cpuAfter = t.cpu + cpu;
      const memOk = memAfter <= n.memMiB + 1e-6;
      const cpuOk = cpu <= 1e-9 || cpuAfter <= n.cores * ceiling + 1e-9;
      if (active(v.state) && !(memOk && cpuOk)) {
        room = true;
        why.push(!memOk
          ? `${n.name}: ${size(Math.max(0, n.memMiB - t.mem))} free, needs ${size(need)}`
          : `${n.name}: CPU would reach ${Math.round((cpuAfter / n.cores) * 100)}% of ${n.cores} cores`);
        continue;
      }
      // A stopped VM needs no room now; prefer a node where it would fit when started.
      const fits = active(v.state) || t.mem + v.memMiB <= n.memMiB + 1e-6;
      const load = Math.max((t.mem + (active(v.state) ? need : v.memMiB)) / Math.max(1, n.memMiB), cpuAfter / Math.max(1e-9, n.cores * ceiling));
      if (!best || Number(fits) > Number(best.fits) || (fits === best.fits && load < best.load - 1e-12)) best = { t, load, fits };
    }
    if (!best) {
      const code: RemainingCode = room ? 'no-room' : storage ? 'storage' : affinity ? 'anti-affinity' : 'no-target';
      const head = code === 'no-room' ? 'no node with room' : code === 'storage' ? 'its disks cannot be placed on any node' : code === 'anti-affinity' ? 'anti-affinity rules out every node' : 'no node can take it';
      const together = unit.length > 1 ? ` (with ${unit.length - 1} VMs bound to it by strict affinity)` : '';
      for (const m of unit) stay(m, code, `${head}${together}: ${joinReasons(why)}`);
      continue;
    }
    const t = best.t;
    const placed = pools.get(t.node.name);
    // Each member's copy, judged before any of them takes room (the bundle was checked as one).
    const copies = new Map(unit.map((m) => [m, disksOn(m, t.node, pools)] as const));
    for (const dc of copies.values()) {
      if (!dc || !('into' in dc)) continue;
      for (const x of dc.into) {
        const p = placed?.find((q) => q.name === x.pool);
        if (p) p.available -= x.bytes;
      }
    }
    if (active(v.state)) {
      t.mem += need;
      t.cpu += cpu;
    }
    for (const m of unit) {
      for (const l of m.antiAffinity ?? []) t.labels.set(l, [...(t.labels.get(l) ?? []), m.name]);
      const mm: MigrationMode = m.state === 'stopped' ? 'offline' : 'live';
      const mc = active(m.state) ? m.cpu ?? 0 : 0;
      const dc = copies.get(m);
      const diskBytes = dc && 'bytes' in dc ? dc.bytes : undefined;
      moves.push({
        vm: m.name, from: m.node, to: t.node.name, mode: mm, state: m.state,
        estSeconds: mm === 'live' ? migrationSeconds(m.memMiB, m.dirtyMiBs ?? 16 * mc, bw, (diskBytes ?? 0) / (1024 * 1024)) : 1,
        ...(diskBytes !== undefined ? { diskBytes } : {}),
      });
    }
  }

  const summary: EvacNodeSummary[] = evacuate.filter((n, i) => evacuate.indexOf(n) === i).map((node) => {
    const total = vms.filter((v) => v.node === node).length;
    const moving = moves.filter((m) => m.from === node).length;
    return { node, vms: total, moving, holds: total - moving };
  });
  return { moves, remaining, nodes: summary };
}

/** "node X still holds N VMs" plus one line per VM that stays, for plans printed to people. */
export function describeRemaining(plan: EvacuationPlan): string[] {
  const out: string[] = [];
  for (const s of plan.nodes) {
    if (s.holds === 0) continue;
    out.push(`node ${s.node} still holds ${s.holds} VM${s.holds === 1 ? '' : 's'}:`);
    for (const r of plan.remaining.filter((x) => x.node === s.node)) out.push(`  ${r.vm.padEnd(20)} ${r.state.padEnd(8)} ${r.reason}`);
  }
  return out;
}

/** VMs the evacuated nodes still hold after the plan, over all of them. */
export function stillHeld(plan: EvacuationPlan): number {
  return plan.nodes.reduce((s, n) => s + n.holds, 0);
}
