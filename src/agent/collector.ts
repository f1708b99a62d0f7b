/**
 * One bulk-stats call (NOWAIT, so a VM in a migration does not stall the
 * rest) where the driver has it, else per-domain calls issued concurrently
 * (src/libvirt/capabilities.ts), plus one node-stats call per period, turned into rates and kept in
 * bounded rings. A poll that comes due while the previous one still runs is
 * dropped, not queued.
 */
import type { DomainStats, Hypervisor, NodeStats } from '../libvirt/hypervisor.js';
import { domainStats } from '../libvirt/capabilities.js';
import { NODE_FIELDS, SampleRing, TickClock, VM_FIELDS, type NodeField, type VmField } from './history.js';
import { isActive, nodeSample, vmCountersInto, vmSample, type VmCounters } from './rates.js';
import type { Sample } from './history.js';

export interface VmEntry {
  name: string;
  /** Allocated when the VM is first seen active: shut-off VMs cost no history. */
  ring?: SampleRing<VmField>;
  counters?: VmCounters;
  /** The next poll's counters are read into this one, then the two swap: no copy, no garbage. */
  spare?: VmCounters;
  last: DomainStats;
  lastTick: number;
}

export interface CollectorOptions {
  pollMs: number;
  historySeconds: number;
  /** Polls a VM may be absent from the bulk stats before its history is dropped (checked every 64 polls). */
  forgetAfterTicks?: number;
}

export class Collector {
  tick = 0;
  readonly capacity: number;
  readonly clock: TickClock;
  readonly node: SampleRing<NodeField>;
  readonly vms = new Map<string, VmEntry>();
  lastNode: NodeStats | undefined;
  hostCpus = 1;
  running = false;
  dropped = 0;
  collections = 0;
  errors = 0;
  lastError: string | undefined;
  lastCollectMs = 0;
  /** Total ms spent in collect() (for the bench's per-poll cost). */
  totalCollectMs = 0;
  private readonly forgetAfter: number;
  // A sample object reused every poll (with each VM's two counter objects): a steady 1 Hz poll of 1,000 VMs makes no per-VM garbage.
  private readonly sampleOut = {} as Sample<VmField>;
  /** Called after each collection (a long-poll waiting for a VM's figure to pass a mark). */
  private readonly listeners = new Set<() => void>();
  /**
   * The entries in the order of the last poll's records: the bulk call lists the VMs in the same order
   * every poll, so record i is looked for here first (a string compare) before the map (hashing each
   * freshly decoded name was most of ingest's own time). Emptied whenever an entry leaves the map,
   * so a hit is always the map's entry.
   */
  private order: Array<VmEntry | undefined> = [];

  constructor(readonly o: CollectorOptions) {
    this.capacity = Math.max(2, Math.ceil((o.historySeconds * 1000) / o.pollMs));
    this.clock = new TickClock(this.capacity);
    this.node = new SampleRing(NODE_FIELDS, this.capacity);
    this.forgetAfter = o.forgetAfterTicks ?? Math.max(300, Math.ceil(300_000 / o.pollMs));
  }

  /** Runs one poll; returns false when dropped because the last one still runs. */
  async collect(hv: Hypervisor): Promise<boolean> {
    if (this.running) {
      this.dropped++;
      return false;
    }
    this.running = true;
    const t0 = performance.now();
    const at = Date.now();
    try {
      const [stats, ns] = await Promise.all([domainStats(hv), hv.nodeStats()]);
      this.ingest(stats, ns, at, t0);
      return true;
    } catch (e) {
      this.errors++;
      this.lastError = e instanceof Error ? e.message : String(e);
      throw e;
    } finally {
      this.running = false;
    }
  }

  /** Folds one poll's results into the history (separate from I/O so tests and the bench can drive it). */
  ingest(stats: DomainStats[], ns: NodeStats, at: number, t0 = performance.now()): void {
    const tick = ++this.tick;
    this.clock.record(tick, at);
    let running = 0;
    let vmCpu = 0;
    const order = this.order;
    if (order.length !== stats.length) order.length = stats.length;
    for (let i = 0; i < stats.length; i++) {
      const s = stats[i] as DomainStats;
      let e = order[i];
      if (e === undefined || e.name !== s.name) e = this.vms.get(s.name);
      if (!e) {
        e = { name: s.name, last: s, lastTick: tick };
        this.vms.set(s.name, e);
      }
      order[i] = e;
      e.lastTick = tick;
      const active = isActive(s);
      if (active) running++;
      if (active && s.cpu === undefined && e.last.cpu !== undefined) {
        // NOWAIT gave only what it could without waiting (a migration holds the VM's job lock):
        // keep the last full record and counters so the next full poll yields no false spike.
        e.last = { ...e.last, state: s.state ?? e.last.state };
        continue;
      }
      e.last = s;
      const c = vmCountersInto(e.spare ?? { atMs: 0, cpuNs: 0, rdBytes: 0, wrBytes: 0, rxBytes: 0, txBytes: 0 }, s, at);
      // A VM never seen running has no history to feed: its counters are all it needs.
      const sample = active || e.ring ? vmSample(e.counters, c, s, this.hostCpus, this.sampleOut) : undefined;
      e.spare = e.counters;
      e.counters = c;
      if (sample) {
        e.ring ??= new SampleRing(VM_FIELDS, this.capacity);
        e.ring.push(tick, sample);
        vmCpu += sample.cpuPct;
      }
    }
    // Forgetting is checked every 64 polls (a VM is kept a little past forgetAfter): a walk of every entry each poll cost as much as a VM's sample.
    if ((tick & 63) === 0) {
      for (const [name, e] of this.vms) {
        if (tick - e.lastTick > this.forgetAfter) {
          this.vms.delete(name);
          this.order.length = 0;
        }
      }
    }
    const ms = performance.now() - t0;
    this.node.push(tick, nodeSample(this.lastNode, ns, { vmsRunning: running, vmCpuPct: vmCpu, collectMs: ms }));
    this.lastNode = ns;
    this.collections++;
    this.lastCollectMs = ms;
    this.totalCollectMs += ms;
    for (const f of this.listeners) f();
  }

  /** Runs `f` after every collection until the returned function is called. */
  onCollected(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  forget(name: string): void {
    if (this.vms.delete(name)) this.order.length = 0;
  }

  /** Bytes held by the rings (for node.info and the bench). */
  historyBytes(): number {
    let b = this.node.bytes();
    for (const e of this.vms.values()) b += e.ring?.bytes() ?? 0;
    return b;
  }
}
