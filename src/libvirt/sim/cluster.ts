/** A simulated cluster: one SimHypervisor per node, built from a seed, with migrations between them. */
import { cloneConfig } from './domain-config.js';
import type { SimDomain } from './domain.js';
import { ManualClock, scaledClock, type SimClock } from './clock.js';
import type { GuestPolicy } from './guest.js';
import { SimHypervisor } from './hypervisor.js';
import type { SimPeers } from './node-context.js';
import { isHotspotSlot, planCluster } from './inventory.js';
import { Reason } from './constants.js';
import { domain0Config, SIM_DRIVER_KINDS, type SimDriverKind } from './drivers.js';

export interface SimClusterOptions {
  nodes: number;
  vmsPerNode?: number;
  seed?: number;
  /** Simulated seconds per real second (default 1); ignored when a clock is given. */
  timeScale?: number;
  /** Injected time source (tests use ManualClock). */
  clock?: SimClock;
  /** Policy of the simulated guests (default: every action allowed, for the demo). */
  guestPolicy?: GuestPolicy;
  /** Simulation cell in simulated ms (default 1000): load is constant within a cell. */
  stepMs?: number;
  /** Real ms between progress steps of timed work (migrations, shutdowns) with a real clock. */
  pumpMs?: number;
  /**
   * Make node 3 of every 5 a hotspot: a small box (12 CPUs) whose VMs run busy,
   * so demand exceeds its cores at times (level-1 shares and level-2 migrations
   * have something to do). Off by default: the default cluster stays as it is.
   */
  hotspots?: boolean;
  /** Give every node a "templates" pool of simulated cloud images (vem demo). Off by default. */
  templates?: boolean;
  /**
   * The kind of each node by index ('qemu', 'lxc', 'xen'; missing = 'qemu'): a node answers as that
   * real libvirt driver does (drivers.ts), named for it (lxc-01, xen-01), still SIMULATED everywhere.
   */
  drivers?: readonly SimDriverKind[];
}

export class SimCluster {
  readonly hypervisors: SimHypervisor[] = [];
  readonly clock: SimClock;
  readonly simulated = true;
  private readonly byNode = new Map<string, SimHypervisor>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly pumpMs: number;

  constructor(o: SimClusterOptions) {
    if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 10000) throw new RangeError(`nodes must be an integer from 1 to 10000 (got ${o.nodes})`);
    const vmsPerNode = o.vmsPerNode ?? 12;
    if (!Number.isInteger(vmsPerNode) || vmsPerNode < 0 || vmsPerNode > 1000) throw new RangeError(`vmsPerNode must be an integer from 0 to 1000 (got ${vmsPerNode})`);
    const seed = o.seed ?? 1;
    this.clock = o.clock ?? scaledClock(o.timeScale ?? 1);
    this.pumpMs = o.pumpMs ?? 100;
    const policy = o.guestPolicy ?? { readOnly: false };
    const peers: SimPeers = { get: (n) => this.byNode.get(n), kick: () => this.kick(), guestPolicy: policy };
    const now = this.clock.now();
    const drivers = o.drivers ?? [];
    for (const k of drivers) if (!SIM_DRIVER_KINDS.includes(k)) throw new RangeError(`unknown simulated driver '${String(k)}' (use ${SIM_DRIVER_KINDS.join(', ')})`);
    planCluster(o.nodes, vmsPerNode, seed, { hotspots: o.hotspots === true, drivers }).forEach((plan, i) => {
      const kind = drivers[i] ?? 'qemu';
      const hot = o.hotspots === true && isHotspotSlot(i) && kind === 'qemu';
      const hv = new SimHypervisor(plan.name, plan.spec, this.clock, (seed * 7919 + i * 104729) >>> 0, peers, o.stepMs ?? 1000, kind);
      let need = 0;
      for (const vm of plan.vms) for (const v of vm.volumes) if (v.pool === 'default') need += v.allocation;
      hv.storage.ensureRoom('default', need + 512 * 1024 ** 3);
      if (o.templates === true) hv.storage.addTemplates(`5e1f7e00-0000-4000-8000-${String(i).padStart(12, '0')}`);
      let fast = 0;
      for (const vm of plan.vms) for (const v of vm.volumes) if (v.pool === 'fast-ssd') fast += v.allocation;
      hv.storage.ensureRoom('fast-ssd', fast + 256 * 1024 ** 3);
      for (const vm of plan.vms) {
        for (const v of vm.volumes) hv.storage.put(v.pool, { name: v.name, key: v.path, path: v.path, type: v.pool === 'fast-ssd' ? 'block' : 'file', capacity: v.capacity, allocation: v.allocation, format: v.format });
        const d = hv.addDomain(vm.config, true, vm.kind, vm.io);
        d.autostart = vm.autostart;
        if (hot) Object.assign(d.workload, { base: Math.max(d.workload.base, 0.2), peak: Math.max(d.workload.peak, 0.85) });
        if (vm.state !== 'shutoff') {
          // Up for a while already: uptime from minutes to weeks.
          hv.boot(d, cloneConfig(vm.config), Reason.runningBooted, now - (60_000 + (d.workload.seed % 1_800_000_000)));
          preload(d, (now - d.startedAt) / 1000);
          if (vm.state === 'paused') {
            d.state = 'paused';
            d.reason = Reason.pausedUser;
          }
        }
      }
      if (kind === 'xen') {
        // libxl lists the control domain first, always running, with id 0.
        const dom0 = hv.addDomain(domain0Config(), false, 'idle');
        hv.boot(dom0, cloneConfig(dom0.config), Reason.runningBooted, now - 3_600_000 * 24 * 40);
        dom0.id = 0;
        preload(dom0, (now - dom0.startedAt) / 1000);
      }
      hv.host.t = now;
      this.hypervisors.push(hv);
      this.byNode.set(plan.name, hv);
    });
    if (this.clock.onAdvance) this.unsubscribe = this.clock.onAdvance(() => this.pump());
  }

  /** The node's hypervisor by node name (node-01) or uri (sim://node-01). */
  hypervisor(node: string): SimHypervisor | undefined {
    return this.byNode.get(node.replace(/^sim:\/\//, ''));
  }

  /** Moves timed work (migrations, guest shutdowns) on to the clock's now. */
  pump(): void {
    for (const hv of this.hypervisors) hv.pump();
  }

  private busy(): boolean {
    return this.hypervisors.some((h) => h.busy.size > 0);
  }

  /** Timed work was queued: with a real clock, step it until nothing is left. */
  private kick(): void {
    if (this.clock.manual || this.timer) return;
    this.timer = setInterval(() => {
      this.pump();
      if (!this.busy() && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }, this.pumpMs);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    await Promise.all(this.hypervisors.map((h) => h.close()));
  }
}

/** Counters of a VM that has been up for `sec` seconds: what it would have used at its average load. */
function preload(d: SimDomain, sec: number): void {
  const w = d.workload;
  const avg = (w.base + w.peak) / 2;
  const c = d.live;
  if (!c) return;
  d.cpuTimeNs = Math.round(sec * avg * c.vcpus * 0.6 * 1e9);
  const io = 0.15 + 0.85 * avg;
  const nd = d.diskIo.length;
  d.diskIo.forEach((x, k) => {
    const share = nd === 1 ? 1 : k === 0 ? 0.6 : 0.4 / (nd - 1);
    x.rdBytes = Math.round(sec * w.diskRdBps * io * share);
    x.wrBytes = Math.round(sec * w.diskWrBps * io * share);
    x.rdReqs = Math.floor(x.rdBytes / 65536);
    x.wrReqs = Math.floor(x.wrBytes / 16384);
  });
  d.nicIo.forEach((x) => {
    x.rxBytes = Math.round((sec * w.netRxBps * io) / d.nicIo.length);
    x.txBytes = Math.round((sec * w.netTxBps * io) / d.nicIo.length);
    x.rxPkts = Math.floor(x.rxBytes / 900);
    x.txPkts = Math.floor(x.txBytes / 900);
  });
}

export function createSimCluster(o: SimClusterOptions): SimCluster {
  return new SimCluster(o);
}

export { ManualClock };
