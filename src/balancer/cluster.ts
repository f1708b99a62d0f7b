/**
 * A planner's scratch copy of the cluster: host CPU and memory as the moves
 * chosen so far leave them, plus the checks every policy must respect
 * (memory capacity, anti-affinity, maintenance, concurrent migrations).
 */
import { diskCopy, type TargetPool } from '../common/migrate-storage.js';
import { last } from './mathx.js';
import type { HostState, Move, PlanInput, VmState } from './types.js';

/** What a move's disks cost on a target: the bytes copied (per pool, for its room), or why it cannot go; undefined = unknown. */
export type DiskCost = { bytes: number; into: Array<{ pool: string; bytes: number }> } | { refusal: string } | undefined;

const MiB = 1024 * 1024;

export interface WorkHost {
  spec: HostState;
  /** CPU demand, cores, under the planner's estimate. */
  cpu: number;
  /** Memory held, MiB, including migrations arriving. */
  mem: number;
  /** Migrations running or planned with this node at either end. */
  active: number;
  /** Anti-affinity label -> how many VMs on the node carry it. */
  labels: Map<string, number>;
  /** Indexes (into WorkCluster.vms) of the VMs on the node in the plan (after planned moves), in arrival order. */
  vms: number[];
  /** Its pools as a target, their free space less the copies planned into them (absent: unknown). */
  pools?: TargetPool[];
}

/**
 * Per-VM plan state lives in arrays indexed by VM (no object, map or boxed number per VM):
 * a plan on 1,000 nodes x 20 VMs builds this for 20,000 VMs every round, and per-VM
 * allocations both cost more than the planning and, kept alive across a plan, get
 * promoted and end in full collections of the whole heap. The name -> index map is
 * built only when something asks for a VM by name.
 */
export class WorkCluster {
  readonly hosts = new Map<string, WorkHost>();
  /** Every VM on a known node, in input order; a VM's index is its place here. */
  readonly vms: VmState[] = [];
  /** Where the plan has each VM now. */
  readonly at: WorkHost[] = [];
  /** CPU demand of each VM, cores, under the planner's estimate. */
  readonly cpu: Float64Array;
  /** 1 when a move of the VM is in the plan already. */
  readonly moved: Uint8Array;
  readonly moves: Move[] = [];
  private byName: Map<string, number> | undefined;

  constructor(readonly input: PlanInput, estimate: (vm: VmState) => number = (v) => last(v.cpuHistory)) {
    for (const h of input.hosts) {
      this.hosts.set(h.name, { spec: h, cpu: 0, mem: 0, active: 0, labels: new Map(), vms: [], ...(h.pools ? { pools: h.pools.map((p) => ({ ...p })) } : {}) });
    }
    this.cpu = new Float64Array(input.vms.length);
    this.moved = new Uint8Array(input.vms.length);
    const inflight = input.inflight.length > 0 ? new Map<string, VmState | undefined>(input.inflight.map((m) => [m.vm, undefined])) : undefined;
    // VMs usually come grouped by node: the last lookup is reused (this runs for every VM of every plan).
    let h: WorkHost | undefined;
    for (const v of input.vms) {
      if (h?.spec.name !== v.host) h = this.hosts.get(v.host);
      if (!h) continue;
      const i = this.vms.length;
      const c = estimate(v);
      this.vms.push(v);
      this.at.push(h);
      this.cpu[i] = c;
      if (inflight?.has(v.name)) inflight.set(v.name, v);
      h.cpu += c;
      h.mem += v.memMiB;
      h.vms.push(i);
      if (v.antiAffinity) for (const l of v.antiAffinity) h.labels.set(l, (h.labels.get(l) ?? 0) + 1);
    }
    for (const m of input.inflight) {
      const from = this.hosts.get(m.from);
      const to = this.hosts.get(m.to);
      if (from) from.active++;
      if (to) {
        to.active++;
        // The copy holds the VM's memory on the target until the move ends.
        const v = inflight?.get(m.vm);
        if (v && v.host !== m.to) to.mem += v.memMiB;
      }
    }
  }

  /** The VM's index by name (the map is built on first use). */
  indexOf(name: string): number | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (let i = 0; i < this.vms.length; i++) this.byName.set((this.vms[i] as VmState).name, i);
    }
    return this.byName.get(name);
  }

  util(h: WorkHost): number {
    return h.cpu / h.spec.cores;
  }

  /** Can the node receive a VM at all (not in maintenance, not being emptied)? */
  acceptsVms(h: WorkHost): boolean {
    return !h.spec.maintenance && !h.spec.evacuate;
  }

  fitsMemory(vm: VmState, h: WorkHost): boolean {
    return h.mem + vm.memMiB <= h.spec.memMiB + 1e-6;
  }

  antiAffinityOk(vm: VmState, h: WorkHost): boolean {
    if (vm.antiAffinity) for (const l of vm.antiAffinity) if ((h.labels.get(l) ?? 0) > 0) return false;
    return true;
  }

  inCooldown(vm: VmState, cooldownSec: number): boolean {
    return vm.lastMigration !== undefined && this.input.now - vm.lastMigration < cooldownSec;
  }

  /** Does VM index i share a strict positive affinity label with another VM on its node (so it may not move alone)? */
  bound(i: number): boolean {
    const labels = (this.vms[i] as VmState).affinity;
    if (!labels || labels.length === 0) return false;
    for (const j of (this.at[i] as WorkHost).vms) {
      if (j !== i && (this.vms[j] as VmState).affinity?.some((l) => labels.includes(l))) return true;
    }
    return false;
  }

  /** What moving VM index i to `to` copies of its disks, by vm.migrate's rule; undefined when the VM's disks or the node's pools are unknown. */
  diskCost(i: number, to: WorkHost): DiskCost {
    const vm = this.vms[i] as VmState;
    if (!vm.disks || !to.pools) return undefined;
    return diskCopy(vm.disks, { node: to.spec.name, pools: to.pools });
  }

  /** Can VM index i's disks be placed on `to` (unknown counts as yes: vm.migrate has the last word)? */
  disksFit(i: number, to: WorkHost): boolean {
    const c = this.diskCost(i, to);
    return c === undefined || !('refusal' in c);
  }

  /** Hard constraints shared by every policy (capacity, anti-affinity, affinity, maintenance, storage), for VM index i moving alone. */
  feasible(i: number, to: WorkHost): boolean {
    const vm = this.vms[i] as VmState;
    return this.at[i] !== to && this.acceptsVms(to) && this.fitsMemory(vm, to) && this.antiAffinityOk(vm, to) && !this.bound(i) && this.disksFit(i, to);
  }

  /** The move's time: its disk copy (when known) and its memory, at the bandwidth. */
  moveSeconds(i: number, to: WorkHost, dirtyMiBs: number, bandwidthMiBs: number): { secs: number; diskBytes?: number } {
    const vm = this.vms[i] as VmState;
    const c = this.diskCost(i, to);
    const bytes = c !== undefined && 'bytes' in c ? c.bytes : undefined;
    const secs = migrationSeconds(vm.memMiB, dirtyMiBs, bandwidthMiBs, (bytes ?? 0) / MiB);
    return bytes === undefined ? { secs } : { secs, diskBytes: bytes };
  }

  /** Record a move of VM index i and update both ends. */
  apply(i: number, to: WorkHost, reason: Move['reason'], score: number, estSeconds: number, diskBytes?: number): void {
    const from = this.at[i] as WorkHost;
    const vm = this.vms[i] as VmState;
    const c = this.cpu[i] as number;
    // The copies take room in the target's pools: the next VM planned there sees less free.
    const dc = this.diskCost(i, to);
    if (dc && 'into' in dc) {
      for (const x of dc.into) {
        const p = to.pools?.find((q) => q.name === x.pool);
        if (p) p.available -= x.bytes;
      }
    }
    from.cpu -= c;
    to.cpu += c;
    // Memory stays held on the source until the copy ends; the target needs it now.
    to.mem += vm.memMiB;
    from.active++;
    to.active++;
    from.vms.splice(from.vms.indexOf(i), 1);
    to.vms.push(i);
    for (const l of vm.antiAffinity ?? []) {
      from.labels.set(l, (from.labels.get(l) ?? 1) - 1);
      to.labels.set(l, (to.labels.get(l) ?? 0) + 1);
    }
    this.at[i] = to;
    this.moved[i] = 1;
    this.moves.push({ vm: vm.name, from: from.spec.name, to: to.spec.name, reason, score, estSeconds, ...(diskBytes !== undefined ? { diskBytes } : {}) });
  }
}

/**
 * Pre-copy live migration time: the disks libvirt copies first (NBD mirror, at the same
 * bandwidth), then memory over bandwidth, stretched by re-sent dirty pages. Guest writes
 * during the disk copy are mirrored too; they are not counted (no disk dirty rate is known).
 */
export function migrationSeconds(memMiB: number, dirtyMiBs: number, bandwidthMiBs: number, diskMiB = 0): number {
  const rho = Math.min(0.8, Math.max(0, dirtyMiBs / bandwidthMiBs));
  return diskMiB / bandwidthMiBs + memMiB / bandwidthMiBs / (1 - rho) + 1;
}

/** MiB actually sent by that migration (first copy plus re-sent dirty pages). */
export function migrationMiB(memMiB: number, dirtyMiBs: number, bandwidthMiBs: number): number {
  const rho = Math.min(0.8, Math.max(0, dirtyMiBs / bandwidthMiBs));
  return memMiB / (1 - rho);
}

/** Dirty rate estimate when the VM's own is unknown: busier VMs write more. */
export function dirtyRateOf(vm: VmState): number {
  return vm.dirtyMiBs ?? 16 * last(vm.cpuHistory);
}
