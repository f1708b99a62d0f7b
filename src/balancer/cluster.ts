/**
 * A planner's scratch copy of the cluster: host CPU and memory as the moves
 * chosen so far leave them, plus the checks every policy must respect
 * (memory capacity, anti-affinity, maintenance, concurrent migrations).
 */
import { last } from './mathx.js';
import type { HostState, Move, PlanInput, VmState } from './types.js';

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
  vms: Set<string>;
}

export class WorkCluster {
  readonly hosts = new Map<string, WorkHost>();
  readonly vms = new Map<string, VmState>();
  /** Current host of each VM in the plan (after planned moves). */
  readonly at = new Map<string, string>();
  readonly moves: Move[] = [];
  readonly vmCpu = new Map<string, number>();

  constructor(readonly input: PlanInput, estimate: (vm: VmState) => number = (v) => last(v.cpuHistory)) {
    for (const h of input.hosts) this.hosts.set(h.name, { spec: h, cpu: 0, mem: 0, active: 0, labels: new Map(), vms: new Set() });
    // VMs usually come grouped by node: the last lookup is reused (this runs for every VM of every plan).
    let h: WorkHost | undefined;
    for (const v of input.vms) {
      if (h?.spec.name !== v.host) h = this.hosts.get(v.host);
      if (!h) continue;
      this.vms.set(v.name, v);
      this.at.set(v.name, v.host);
      const c = estimate(v);
      this.vmCpu.set(v.name, c);
      h.cpu += c;
      h.mem += v.memMiB;
      h.vms.add(v.name);
      if (v.antiAffinity) for (const l of v.antiAffinity) h.labels.set(l, (h.labels.get(l) ?? 0) + 1);
    }
    for (const m of input.inflight) {
      const from = this.hosts.get(m.from);
      const to = this.hosts.get(m.to);
      if (from) from.active++;
      if (to) {
        to.active++;
        // The copy holds the VM's memory on the target until the move ends.
        const v = this.vms.get(m.vm);
        if (v && v.host !== m.to) to.mem += v.memMiB;
      }
    }
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
    for (const l of vm.antiAffinity ?? []) if ((h.labels.get(l) ?? 0) > 0) return false;
    return true;
  }

  inCooldown(vm: VmState, cooldownSec: number): boolean {
    return vm.lastMigration !== undefined && this.input.now - vm.lastMigration < cooldownSec;
  }

  /** Hard constraints shared by every policy (capacity, anti-affinity, maintenance). */
  feasible(vm: VmState, to: WorkHost): boolean {
    return this.at.get(vm.name) !== to.spec.name && this.acceptsVms(to) && this.fitsMemory(vm, to) && this.antiAffinityOk(vm, to);
  }

  /** Record a move and update both ends. */
  apply(vmName: string, toName: string, reason: Move['reason'], score: number, estSeconds: number): void {
    const vm = this.vms.get(vmName);
    const fromName = this.at.get(vmName);
    const from = fromName === undefined ? undefined : this.hosts.get(fromName);
    const to = this.hosts.get(toName);
    if (!vm || !from || !to) throw new Error(`bad move ${vmName} -> ${toName}`);
    const c = this.vmCpu.get(vmName) ?? 0;
    from.cpu -= c;
    to.cpu += c;
    // Memory stays held on the source until the copy ends; the target needs it now.
    to.mem += vm.memMiB;
    from.active++;
    to.active++;
    from.vms.delete(vmName);
    to.vms.add(vmName);
    for (const l of vm.antiAffinity ?? []) {
      from.labels.set(l, (from.labels.get(l) ?? 1) - 1);
      to.labels.set(l, (to.labels.get(l) ?? 0) + 1);
    }
    this.at.set(vmName, toName);
    this.moves.push({ vm: vmName, from: from.spec.name, to: toName, reason, score, estSeconds });
  }

  moved(vmName: string): boolean {
    return this.moves.some((m) => m.vm === vmName);
  }
}

/** Pre-copy live migration time: memory over bandwidth, stretched by re-sent dirty pages. */
export function migrationSeconds(memMiB: number, dirtyMiBs: number, bandwidthMiBs: number): number {
  const rho = Math.min(0.8, Math.max(0, dirtyMiBs / bandwidthMiBs));
  return memMiB / bandwidthMiBs / (1 - rho) + 1;
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
