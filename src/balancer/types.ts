/**
 * Shared types of the balancer: what level 2 observes about nodes and VMs, and
 * what it decides. Everything here is plain data so the planners stay pure.
 */
import type { TargetPool, VmDisks } from '../common/migrate-storage.js';

/** A node as level 2 sees it. Utilisation histories are oldest first, last = now. */
export interface HostState {
  name: string;
  cores: number;
  memMiB: number;
  /** Admin put the node in maintenance: no VM may be moved onto it. */
  maintenance?: boolean;
  /** Admin asked to empty the node (implies maintenance for targets). */
  evacuate?: boolean;
  /** CPU demand / cores per sample (may exceed 1 when demand is not served). */
  cpuHistory: number[];
  /** Memory in use / memMiB per sample. */
  memHistory?: number[];
  /** Network Mbit/s per sample and the node's link capacity (Sandpiper's volume). */
  netHistory?: number[];
  netMbps?: number;
  /**
   * The node's running storage pools as a migration target (node.migrationStorage): with a VM's
   * disks they say what a move here copies. Absent = unknown: moves here are costed by memory alone.
   */
  pools?: TargetPool[];
}

export interface VmState {
  name: string;
  host: string;
  /** CPU demand in cores per sample, oldest first, last = now. */
  cpuHistory: number[];
  /** Memory the VM holds on its node (what a migration copies), MiB. */
  memMiB: number;
  vcpus: number;
  netMbps?: number;
  /** Estimated page-dirtying rate while running, MiB/s (pre-copy cost). */
  dirtyMiBs?: number;
  /** Anti-affinity labels: two VMs sharing a label must not share a node. */
  antiAffinity?: string[];
  /**
   * Strict positive affinity labels: VMs sharing a label must stay on one node, so they
   * move together (as a bundle, Proxmox-like) or not at all (every other planner).
   */
  affinity?: string[];
  /** When the VM last finished (or started) a migration, seconds; for the cooldown. */
  lastMigration?: number;
  /** How long that last migration took, seconds (KubeVirt-like cooldowns grow with it). */
  lastMigrationSeconds?: number;
  /** Migrations of this VM that ended in the last 24 h (cooldowns that back off). */
  migrationsLast24h?: number;
  /** A migration of this VM is running now. */
  migrating?: boolean;
  /**
   * Its disks with their sizes, for the storage a move copies (vm.migrate's per-disk rule).
   * Absent = unknown (an older agent, a definition not read): costed by memory alone, never ruled out.
   */
  disks?: VmDisks;
}

/** A migration already running: its memory is held on both ends until it ends. */
export interface InflightMigration {
  vm: string;
  from: string;
  to: string;
}

export interface PlanInput {
  /** Seconds (trace time or wall clock). */
  now: number;
  /** Seconds between samples. */
  period: number;
  hosts: HostState[];
  vms: VmState[];
  inflight: InflightMigration[];
}

export type MoveReason = 'evacuation' | 'hotspot' | 'imbalance';

export interface Move {
  vm: string;
  from: string;
  to: string;
  reason: MoveReason;
  /** Benefit minus cost in the planner's units (higher is better); informative. */
  score: number;
  /** Estimated migration time, seconds (the disk copy, then the memory). */
  estSeconds: number;
  /**
   * Bytes of disk the move copies (0: every disk shared or never copied). Absent: unknown
   * (the VM's disks or the target's pools were not reported), and estSeconds counts memory alone.
   */
  diskBytes?: number;
  /** false: an offline migration (a stopped VM's definition); default live. */
  live?: boolean;
}

/** Every level-2 policy (ours and the baselines) has this shape. */
export type PlanFn = (input: PlanInput) => Move[];

export interface Level2Policy {
  name: string;
  /** Run the planner only every `everySeconds` (DRS: 300 s); default every sample. */
  everySeconds?: number;
  plan: PlanFn;
}
