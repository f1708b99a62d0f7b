/**
 * Level 2 on a live cluster, behind a small typed interface so the logic is
 * testable without agents: a snapshot of nodes and VMs in, a plan out; apply
 * runs the plan's migrations with a per-node concurrency limit.
 */
import { DEFAULT_LEVEL2, planLevel2, type Level2Config } from './level2.js';
import type { HostState, InflightMigration, Move, PlanInput, VmState } from './types.js';

export interface LiveNode {
  name: string;
  cores: number;
  memMiB: number;
  /** CPU busy / capacity per sample, oldest first. */
  cpuHistory: number[];
  labels?: string[];
  reachable: boolean;
}

export interface LiveVm {
  name: string;
  node: string;
  vcpus: number;
  memMiB: number;
  /** Demand in cores per sample, oldest first. */
  cpuHistory: number[];
  running: boolean;
  migrating?: boolean;
  lastMigration?: number;
}

export interface LiveSnapshot {
  /** Seconds since the epoch. */
  now: number;
  /** Seconds between history samples. */
  period: number;
  nodes: LiveNode[];
  vms: LiveVm[];
  inflight: InflightMigration[];
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
  config?: Partial<Level2Config>;
}

/** Snapshot -> planner input. Nodes that cannot be reached take no VMs; stopped VMs are not moved. */
export function toPlanInput(s: LiveSnapshot, o: LivePlanOptions = {}): PlanInput {
  const evac = new Set(o.evacuate ?? []);
  const maint = new Set(o.maintenance ?? []);
  for (const n of s.nodes) if (n.labels?.includes('maintenance')) maint.add(n.name);
  const labels = new Map<string, string[]>();
  (o.antiAffinity ?? []).forEach((group, i) => {
    for (const vm of group) labels.set(vm, [...(labels.get(vm) ?? []), `group${i}`]);
  });
  const hosts: HostState[] = s.nodes.map((n) => ({
    name: n.name, cores: n.cores, memMiB: n.memMiB, cpuHistory: n.cpuHistory,
    maintenance: maint.has(n.name) || !n.reachable, evacuate: evac.has(n.name),
  }));
  const vms: VmState[] = s.vms.filter((v) => v.running).map((v) => ({
    name: v.name, host: v.node, cpuHistory: v.cpuHistory, memMiB: v.memMiB, vcpus: v.vcpus,
    antiAffinity: labels.get(v.name), migrating: v.migrating, lastMigration: v.lastMigration,
  }));
  return { now: s.now, period: s.period, hosts, vms, inflight: s.inflight };
}

export function unknownNodes(s: LiveSnapshot, names: readonly string[]): string[] {
  const known = new Set(s.nodes.map((n) => n.name));
  return names.filter((n) => !known.has(n));
}

export async function planLive(src: ClusterSource, o: LivePlanOptions = {}): Promise<{ snapshot: LiveSnapshot; moves: Move[] }> {
  const snapshot = await src.snapshot();
  const moves = planLevel2(toPlanInput(snapshot, o), { ...DEFAULT_LEVEL2, ...o.config });
  return { snapshot, moves };
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
        (e: unknown) => ({ move: m, ok: false, error: e instanceof Error ? e.message : String(e), seconds: (Date.now() - t0) / 1000 }),
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
