/**
 * Level 2 on a live cluster, behind a small typed interface so the logic is
 * testable without agents: a snapshot of nodes and VMs in, a plan out; apply
 * runs the plan's migrations with a per-node concurrency limit.
 */
import { VemError } from '../common/errors.js';
import { diskCopy, type TargetPool, type VmDisks } from '../common/migrate-storage.js';
import { planEvacuation, type EvacNode, type EvacuationPlan, type EvacVm, type EvacVmState, type PausedChoice } from './evacuate.js';
import { DEFAULT_LEVEL2, planLevel2, vmEstimate, type Level2Config } from './level2.js';
import type { HostState, InflightMigration, Move, PlanInput, VmState } from './types.js';

export interface LiveNode {
  name: string;
  cores: number;
  memMiB: number;
  /**
   * CPU load / capacity per sample, oldest first: the host-wide busy figure for a node
   * alone on its machine, its VMs' CPU for nodes sharing one (see node-load.ts).
   */
  cpuHistory: number[];
  labels?: string[];
  reachable: boolean;
  /** Hypervisor driver as the agent names it (QEMU, LXC, Test, Simulated...). */
  driver?: string;
  /** What the node's driver can migrate, when the agent says; unknown = assumed able. */
  canMigrate?: { live?: boolean; offline?: boolean };
  /** Its running storage pools (node.migrationStorage); absent = unknown. */
  pools?: TargetPool[];
}

export interface LiveVm {
  name: string;
  node: string;
  vcpus: number;
  memMiB: number;
  /** Demand in cores per sample, oldest first. */
  cpuHistory: number[];
  running: boolean;
  /** Libvirt's state name (running, paused, shutoff, ...); running alone when absent. */
  state?: string;
  migrating?: boolean;
  lastMigration?: number;
  /** Its disks and their sizes (node.migrationStorage); absent = unknown. */
  disks?: VmDisks;
}

export interface LiveSnapshot {
  /** Seconds since the epoch. */
  now: number;
  /** Seconds between history samples. */
  period: number;
  nodes: LiveNode[];
  vms: LiveVm[];
  inflight: InflightMigration[];
  /** Nodes found on one machine (node-load.ts): their cpuHistory is their VMs' CPU, not the shared host-wide figure. */
  shared?: string[][];
}

export interface MigrationOutcome {
  move: Move;
  ok: boolean;
  error?: string;
  seconds: number;
}

/** What plan/apply need from the cluster (the agents through the transport, or a fake in tests). */
export interface ClusterSource {
  snapshot(): Promise<LiveSnapshot>;
  /** Start a live migration; resolves when it has finished (or throws why not). */
  migrate(move: Move): Promise<void>;
}

export interface LivePlanOptions {
  evacuate?: string[];
  maintenance?: string[];
  /** Groups of VM names that must not share a node. */
  antiAffinity?: string[][];
  /** Paused VMs on an evacuated node: move them live (default) or keep them there. */
  paused?: PausedChoice;
  config?: Partial<Level2Config>;
}

/** A VM's state in the evacuation planner's three kinds: what holds memory, and how it can move. */
export function evacState(v: LiveVm): EvacVmState {
  const s = v.state ?? (v.running ? 'running' : 'shutoff');
  if (s === 'running' || v.running) return 'running';
  // pmsuspended, blocked, in shutdown: the domain is alive and holds its memory, like a paused one.
  return s === 'shutoff' || s === 'crashed' || s === 'stopped' || s === 'nostate' ? 'stopped' : 'paused';
}

function antiAffinityLabels(o: LivePlanOptions): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  (o.antiAffinity ?? []).forEach((group, i) => {
    for (const vm of group) labels.set(vm, [...(labels.get(vm) ?? []), `group${i + 1}`]);
  });
  return labels;
}

/** Snapshot -> level-2 input. Nodes that cannot be reached take no VMs; stopped VMs are not balanced (paused ones count for memory). */
export function toPlanInput(s: LiveSnapshot, o: LivePlanOptions = {}): PlanInput {
  const evac = new Set(o.evacuate ?? []);
  const maint = new Set(o.maintenance ?? []);
  for (const n of s.nodes) if (n.labels?.includes('maintenance')) maint.add(n.name);
  const labels = antiAffinityLabels(o);
  const hosts: HostState[] = s.nodes.map((n) => ({
    name: n.name, cores: n.cores, memMiB: n.memMiB, cpuHistory: n.cpuHistory,
    maintenance: maint.has(n.name) || !n.reachable, evacuate: evac.has(n.name), ...(n.pools ? { pools: n.pools } : {}),
  }));
  const vms: VmState[] = s.vms.filter((v) => evacState(v) !== 'stopped').map((v) => ({
    name: v.name, host: v.node, cpuHistory: v.running ? v.cpuHistory : [0], memMiB: v.memMiB, vcpus: v.vcpus,
    antiAffinity: labels.get(v.name), migrating: v.migrating, lastMigration: v.lastMigration, ...(v.disks ? { disks: v.disks } : {}),
  }));
  return { now: s.now, period: s.period, hosts, vms, inflight: s.inflight };
}

/**
 * What a node can migrate, from the features its driver lacks as node.info reports them
 * (src/libvirt/capabilities.ts names them): undefined when it has not said.
 */
export function canMigrateFrom(unsupported: Readonly<Record<string, unknown>> | undefined): LiveNode['canMigrate'] {
  if (!unsupported) return undefined;
  const live = unsupported['migration'] === undefined;
  return { live, offline: live && unsupported['offline-migration'] === undefined };
}

/**
 * Level 2 over each group of nodes a VM can move between: nodes of one driver (a QEMU
 * guest does not run on an LXC node) whose driver can live-migrate. A node whose driver
 * cannot keeps its VMs and takes none; a driver alone on its node has nothing to balance.
 */
export function planLevel2ByDriver(input: PlanInput, nodes: readonly LiveNode[], cfg: Level2Config): Move[] {
  const group = new Map<string, Set<string>>();
  for (const n of nodes) {
    if (n.canMigrate?.live === false) continue;
    const key = n.driver ?? '';
    const g = group.get(key) ?? new Set<string>();
    g.add(n.name);
    group.set(key, g);
  }
  const moves: Move[] = [];
  for (const names of group.values()) {
    if (names.size < 2) continue;
    const sub: PlanInput = {
      ...input,
      hosts: input.hosts.filter((h) => names.has(h.name)),
      vms: input.vms.filter((v) => names.has(v.host)),
      inflight: input.inflight.filter((m) => names.has(m.from) || names.has(m.to)),
    };
    moves.push(...planLevel2(sub, cfg));
  }
  return moves;
}

export function unknownNodes(s: LiveSnapshot, names: readonly string[]): string[] {
  const known = new Set(s.nodes.map((n) => n.name));
  return names.filter((n) => !known.has(n));
}

/** The evacuation of `o.evacuate` over every VM of the snapshot (running, paused and stopped). */
export function planLiveEvacuation(s: LiveSnapshot, o: LivePlanOptions = {}): EvacuationPlan {
  const cfg = { ...DEFAULT_LEVEL2, ...o.config };
  const maint = new Set(o.maintenance ?? []);
  const labels = antiAffinityLabels(o);
  const memOf = new Map(s.vms.map((v) => [v.name, v]));
  const nodes: EvacNode[] = s.nodes.map((n) => ({
    name: n.name, cores: n.cores, memMiB: n.memMiB, driver: n.driver, canMigrate: n.canMigrate, ...(n.pools ? { pools: n.pools } : {}),
    closed: !n.reachable ? 'unreachable' : maint.has(n.name) || n.labels?.includes('maintenance') ? 'in maintenance' : undefined,
    // A migration arriving holds the VM's memory on its target until it ends.
    reservedMiB: s.inflight.filter((m) => m.to === n.name && memOf.get(m.vm)?.node !== n.name).reduce((t, m) => t + (memOf.get(m.vm)?.memMiB ?? 0), 0),
  }));
  const est = vmEstimate(cfg.n);
  const vms: EvacVm[] = s.vms.map((v) => {
    const state = evacState(v);
    return {
      name: v.name, node: v.node, state, memMiB: v.memMiB, migrating: v.migrating, antiAffinity: labels.get(v.name), ...(v.disks ? { disks: v.disks } : {}),
      cpu: state === 'running' ? Math.max(0, est({ name: v.name, host: v.node, cpuHistory: v.cpuHistory, memMiB: v.memMiB, vcpus: v.vcpus })) : 0,
    };
  });
  return planEvacuation(o.evacuate ?? [], nodes, vms, { paused: o.paused, bandwidthMiBs: cfg.bandwidthMiBs });
}

/**
 * One round: the evacuation first (every VM of an evacuated node is moved or
 * named in `evacuation.remaining`), then level 2 on the cluster as those moves
 * leave it. The CLI's plan/apply and automatic mode all come through here.
 */
export async function planLive(src: ClusterSource, o: LivePlanOptions = {}): Promise<{ snapshot: LiveSnapshot; moves: Move[]; evacuation: EvacuationPlan }> {
  const snapshot = await src.snapshot();
  const cfg = { ...DEFAULT_LEVEL2, ...o.config };
  const evacuation = planLiveEvacuation(snapshot, o);
  const input = toPlanInput(snapshot, o);
  // Level 2 sees evacuated VMs where they are going (as migrations under way), and leaves the rest of an evacuated node alone.
  const going = new Map(evacuation.moves.map((m) => [m.vm, m]));
  const evac = new Set(o.evacuate ?? []);
  const vms = input.vms.map((v) => {
    const m = going.get(v.name);
    if (m) return { ...v, host: m.to, migrating: true };
    return evac.has(v.host) ? { ...v, migrating: true } : v;
  });
  const inflight = [...input.inflight, ...evacuation.moves.filter((m) => m.mode === 'live').map((m) => ({ vm: m.vm, from: m.from, to: m.to }))];
  const balance = planLevel2ByDriver({ ...input, vms, inflight }, snapshot.nodes, cfg).filter((m) => m.reason !== 'evacuation');
  const moves: Move[] = [
    ...evacuation.moves.map((m): Move => ({
      vm: m.vm, from: m.from, to: m.to, reason: 'evacuation', score: 0, estSeconds: m.estSeconds, live: m.mode === 'live',
      ...(m.diskBytes !== undefined ? { diskBytes: m.diskBytes } : {}),
    })),
    ...balance,
  ];
  return { snapshot, moves, evacuation };
}

/**
 * What the VMs' storage rules out of this snapshot, one line each for people: a VM whose
 * disks vm.migrate could not place on a node (no pool at the disk's folder, no room), and
 * where the disk bytes are unknown, what the planner assumes (memory alone, no node ruled out).
 */
export function storageNotes(s: LiveSnapshot): string[] {
  const out: string[] = [];
  const up = s.nodes.filter((n) => n.reachable && n.canMigrate?.live !== false);
  const sameDriver = (a: LiveNode, b: LiveNode | undefined): boolean => a.driver === undefined || b?.driver === undefined || a.driver === b.driver;
  const byName = new Map(s.nodes.map((n) => [n.name, n]));
  const unknownVms: string[] = [];
  for (const v of s.vms) {
    if (evacState(v) === 'stopped') continue;
    if (!v.disks) {
      unknownVms.push(v.name.slice(v.name.indexOf('/') + 1));
      continue;
    }
    const refused: string[] = [];
    let first = '';
    for (const n of up) {
      if (n.name === v.node || !n.pools || !sameDriver(n, byName.get(v.node))) continue;
      const c = diskCopy(v.disks, { node: n.name, pools: n.pools });
      if ('refusal' in c) {
        refused.push(n.name);
        first ||= c.refusal;
      }
    }
    if (refused.length > 0) out.push(`${v.name.slice(v.name.indexOf('/') + 1)}: its disks cannot go to ${refused.join(', ')}: ${first}`);
  }
  const noPools = up.filter((n) => !n.pools).map((n) => n.name);
  if (unknownVms.length > 0) out.push(`disk bytes unknown for ${unknownVms.length > 4 ? `${unknownVms.slice(0, 4).join(', ')} and ${unknownVms.length - 4} more` : unknownVms.join(', ')} (definition not read, or an agent without node.migrationStorage): their moves are costed by memory alone (disk ?)`);
  if (noPools.length > 0) out.push(`storage pools unknown on ${noPools.join(', ')} (an agent without node.migrationStorage): moves there are costed by memory alone (disk ?) and vm.migrate decides`);
  return out;
}

/** A size as the plan lines show it: whole GiB from 10 GiB, one decimal from 1 GiB, MiB below (a small guest is not "0G"). */
export function shortSize(bytes: number): string {
  const g = bytes / 1024 ** 3;
  if (g >= 10) return `${Math.round(g)}G`;
  if (g >= 1) return `${g.toFixed(1).replace(/\.0$/, '')}G`;
  return `${Math.round(bytes / 1024 ** 2)}M`;
}

/**
 * What a move copies, memory and disks apart: "copy 160M + disk 2G"; "disk ?" when the disk
 * bytes are unknown (its time then counts memory alone); an offline move copies its definition only.
 */
export function copyText(memMiB: number | undefined, m: Pick<Move, 'diskBytes' | 'live'>): string {
  if (m.live === false) return 'definition only (offline)';
  const mem = memMiB === undefined ? '?' : shortSize(memMiB * 1024 * 1024);
  // 0: every disk is on storage the target shares (or is never copied).
  return `copy ${mem} + disk ${m.diskBytes === undefined ? '?' : m.diskBytes === 0 ? '0' : shortSize(m.diskBytes)}`;
}

function errorText(e: unknown): string {
  if (e instanceof VemError && e.hint) return `${e.message} (${e.hint})`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Run moves, at most `maxPerNode` at a time with a node at either end; a failed
 * migration leaves the VM where it was and does not stop the others.
 */
export async function applyMoves(src: ClusterSource, moves: readonly Move[], maxPerNode = DEFAULT_LEVEL2.maxPerNode,
  onDone?: (r: MigrationOutcome) => void): Promise<MigrationOutcome[]> {
  const busy = new Map<string, number>();
  const pending = [...moves];
  const out: MigrationOutcome[] = [];
  const running = new Set<Promise<void>>();
  const canStart = (m: Move): boolean => (busy.get(m.from) ?? 0) < maxPerNode && (busy.get(m.to) ?? 0) < maxPerNode;
  const bump = (n: string, d: number): void => {
    busy.set(n, (busy.get(n) ?? 0) + d);
  };
  while (pending.length > 0 || running.size > 0) {
    for (let i = 0; i < pending.length; ) {
      const m = pending[i] as Move;
      if (!canStart(m)) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      bump(m.from, 1);
      bump(m.to, 1);
      const t0 = Date.now();
      const p: Promise<void> = src.migrate(m).then(
        () => ({ move: m, ok: true, seconds: (Date.now() - t0) / 1000 }),
        (e: unknown) => ({ move: m, ok: false, error: errorText(e), seconds: (Date.now() - t0) / 1000 }),
      ).then((r: MigrationOutcome) => {
        bump(m.from, -1);
        bump(m.to, -1);
        out.push(r);
        onDone?.(r);
        running.delete(p);
      });
      running.add(p);
    }
    if (running.size === 0) break; // nothing can start (maxPerNode 0): give up rather than spin
    await Promise.race(running);
  }
  return out;
}
