/**
 * The per-cluster store: the latest state and metric history from every agent,
 * and each node's link state. Pollers write into it; views only read it. Every
 * change bumps `version` so the screen redraws at most once per tick.
 */
import type { LinkState } from './link.js';
import type { NodeHost } from './model.js';
import { isActive, newNode, newVm, type NodeRecord, type VmRecord } from './model.js';
import type { NodeSample, VmSample, WireVm } from './decode.js';

/** The VMs whose figures changed since the reader last emptied `vms` (ClusterStore.figureChanges). */
export interface FigureChanges {
  vms: VmRecord[];
  /** More changed than the list keeps: any VM may have (the reader looks at all, then clears this). */
  overflow: boolean;
}

export class ClusterStore {
  readonly nodes = new Map<string, NodeRecord>();
  readonly vms = new Map<string, VmRecord>();
  /** Keys of each node's VMs, so one node's update does not walk the whole cluster. */
  private readonly byNode = new Map<string, Set<string>>();
  /** Each node's VMs by name, for a tick's figures (no key to build per VM). */
  private readonly named = new Map<string, Map<string, VmRecord>>();
  /** VMs kept on screen while missing from their node's list (a migration holds them). */
  readonly pinned = new Set<string>();
  /** Incremented on every change; the UI compares it to what it last drew. */
  version = 0;
  /** Incremented when VMs come, go or change state: what a filtered, sorted table must look at again (figures alone do not). */
  inventory = 0;
  private listeners: Array<() => void> = [];
  /** Readers of the VMs whose figures changed (figureChanges). */
  private readonly figureReaders: FigureChanges[] = [];

  addNode(name: string, link: LinkState): NodeRecord {
    let n = this.nodes.get(name);
    if (!n) {
      n = newNode(name, link);
      this.nodes.set(name, n);
      this.changed();
    }
    return n;
  }

  /**
   * A list the store adds every VM to whose sort figures change (CPU, memory, disk,
   * net, vCPUs, memory size), for a reader that looks again only at those (the sorted
   * table); the reader empties it once it has. A VM may be in it more than once. A
   * reader that lets it grow past twice the VMs finds it emptied and `overflow` set:
   * then any VM may have changed.
   */
  figureChanges(): FigureChanges {
    const r: FigureChanges = { vms: [], overflow: false };
    this.figureReaders.push(r);
    return r;
  }

  private figuresChanged(vm: VmRecord): void {
    for (const r of this.figureReaders) {
      if (r.vms.length > 2 * this.vms.size + 1024) {
        r.vms.length = 0;
        r.overflow = true;
      }
      r.vms.push(vm);
    }
  }

  private drop(node: string, key: string): void {
    const vm = this.vms.get(key);
    if (vm) this.named.get(node)?.delete(vm.name);
    this.vms.delete(key);
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  changed(): void {
    this.version++;
    for (const cb of this.listeners) cb();
  }

  setLink(node: string, s: LinkState, detail?: string): void {
    const n = this.addNode(node, s);
    n.link = s;
    n.linkDetail = detail;
    this.changed();
  }

  /** The node's agent answered with VM data: its rows are fresh as of now. */
  private answered(node: string): void {
    const n = this.nodes.get(node);
    if (n) n.lastAnswerAt = Date.now();
  }

  setNodeError(node: string, error: string | undefined): void {
    const n = this.nodes.get(node);
    if (!n || n.error === error) return;
    n.error = error;
    this.changed();
  }

  setHost(node: string, host: NodeHost): void {
    const n = this.addNode(node, 'up');
    n.host = host;
    if (n.memTotalKiB === undefined && host.memoryKiB > 0) n.memTotalKiB = host.memoryKiB;
    this.changed();
  }

  /**
   * Replace one node's VM list: new VMs appear, gone ones (undefined, migrated
   * away) disappear. With `partial` (only the running VMs were asked for) nothing
   * is removed; returns false when the partial list misses a VM that was running,
   * or a gone VM stays because a migration pins it (the caller should ask again).
   */
  setVmList(node: string, list: WireVm[], withSamples = true, partial = false): boolean {
    this.answered(node);
    const keys = this.keysOf(node);
    const seen = new Set<string>();
    for (const w of list) seen.add(this.upsert(node, keys, w, withSamples).key);
    let complete = true;
    for (const key of keys) {
      if (seen.has(key)) continue;
      if (this.pinned.has(key)) {
        complete = false; // kept while a migration holds it: ask again once it is released
        continue;
      }
      if (partial) {
        if (isActive(this.vms.get(key)?.state ?? '')) complete = false;
        continue;
      }
      this.drop(node, key);
      keys.delete(key);
      this.inventory++;
    }
    this.recount(node, keys);
    return complete;
  }

  /**
   * Inventory changes of one node (vm.watch): VMs added or changed, and names gone.
   * A gone VM that a migration pins stays; returns false then (ask for the whole inventory later).
   */
  applyVmChanges(node: string, upserts: WireVm[], removed: string[]): boolean {
    this.answered(node);
    const keys = this.keysOf(node);
    for (const w of upserts) this.upsert(node, keys, w, false);
    let complete = true;
    for (const name of removed) {
      const key = `${node}/${name}`;
      if (this.pinned.has(key)) {
        complete = false;
        continue;
      }
      this.drop(node, key);
      keys.delete(key);
      this.inventory++;
    }
    this.recount(node, keys);
    return complete;
  }

  /** The latest figures of some of a node's VMs, collected at `seenAt` (a collection already shown is not counted twice). */
  setVmFigures(node: string, samples: VmSample[], seenAt: number): void {
    this.answered(node);
    let any = false;
    const named = this.named.get(node);
    for (const s of samples) {
      const vm = named?.get(s.name);
      if (!vm || vm.seenAt === seenAt) continue;
      vm.seenAt = seenAt;
      this.pushVmSample(vm, isActive(vm.state) ? s : { name: s.name, t: s.t, cpuPct: 0 });
      any = true;
    }
    if (any) this.changed();
  }

  private keysOf(node: string): Set<string> {
    this.addNode(node, 'up');
    let keys = this.byNode.get(node);
    if (!keys) {
      keys = new Set<string>();
      this.byNode.set(node, keys);
    }
    return keys;
  }

  private upsert(node: string, keys: Set<string>, w: WireVm, withSamples: boolean): VmRecord {
    const key = `${node}/${w.name}`;
    let vm = this.vms.get(key);
    if (!vm) {
      vm = newVm(node, w.name);
      this.vms.set(key, vm);
      let named = this.named.get(node);
      if (!named) this.named.set(node, (named = new Map()));
      named.set(w.name, vm);
      this.inventory++;
    }
    keys.add(key);
    vm.uuid = w.uuid;
    if (vm.state !== w.state && !isActive(w.state)) {
      vm.cpuPct = undefined;
      vm.diskRdBps = vm.diskWrBps = vm.netRxBps = vm.netTxBps = undefined;
      vm.memPct = undefined;
    }
    if (vm.state !== w.state) this.inventory++;
    if (vm.vcpus !== w.vcpus || vm.memKiB !== w.memKiB) this.figuresChanged(vm);
    vm.state = w.state;
    vm.vcpus = w.vcpus;
    vm.memKiB = w.memKiB;
    vm.maxMemKiB = w.maxMemKiB;
    if (withSamples && w.sample && w.sample.t !== vm.seenAt) {
      vm.seenAt = w.sample.t;
      // A stopped VM has no memory in use, whatever its balloon figure says.
      this.pushVmSample(vm, isActive(w.state) ? w.sample : { name: w.name, t: w.sample.t, cpuPct: 0 });
      if (!isActive(w.state)) vm.memPct = undefined;
    }
    return vm;
  }

  /** The node's counts and committed resources, from its VMs (after its inventory changed). */
  private recount(node: string, keys: Set<string>): void {
    const n = this.addNode(node, 'up');
    let running = 0;
    let mem = 0;
    let vcpus = 0;
    for (const key of keys) {
      const vm = this.vms.get(key);
      if (!vm || !isActive(vm.state)) continue;
      // Paused VMs hold memory and vCPUs but are not running (the header counts running ones).
      if (vm.state === 'running') running++;
      mem += vm.memKiB;
      vcpus += vm.vcpus;
    }
    n.vmCount = keys.size;
    n.running = running;
    n.vmMemKiB = mem;
    n.vmVcpus = vcpus;
    this.changed();
  }

  addNodeSamples(node: string, samples: NodeSample[]): void {
    const n = this.nodes.get(node);
    if (!n || samples.length === 0) return;
    for (const s of samples) {
      if (s.cpuPct !== undefined) {
        n.cpuPct = s.cpuPct;
        n.cpuHist.push(s.cpuPct);
      }
      if (s.memTotalKiB !== undefined) n.memTotalKiB = s.memTotalKiB;
      if (s.memUsedKiB !== undefined) {
        n.memUsedKiB = s.memUsedKiB;
        const total = n.memTotalKiB ?? 0;
        n.memHist.push(total > 0 ? (100 * s.memUsedKiB) / total : 0);
      }
    }
    this.changed();
  }

  addVmSamples(node: string, samples: VmSample[]): void {
    if (samples.length === 0) return;
    for (const s of samples) {
      const vm = this.vms.get(`${node}/${s.name}`);
      if (vm) this.pushVmSample(vm, s);
    }
    this.changed();
  }

  /** Replace a VM's history with what the agent kept (when its detail view opens). */
  backfillVm(key: string, samples: VmSample[]): void {
    const vm = this.vms.get(key);
    if (!vm || samples.length === 0) return;
    vm.cpuHist.clear();
    vm.memHist.clear();
    vm.diskHist.clear();
    vm.netHist.clear();
    for (const s of samples) this.pushVmSample(vm, s);
    this.changed();
  }

  private pushVmSample(vm: VmRecord, s: VmSample): void {
    this.figuresChanged(vm);
    if (s.cpuPct !== undefined) {
      vm.cpuPct = s.cpuPct;
      vm.cpuHist.push(s.cpuPct);
    }
    const memPct = s.memUsedKiB !== undefined && vm.memKiB > 0 ? (100 * s.memUsedKiB) / vm.memKiB : undefined;
    if (memPct !== undefined) {
      vm.memPct = memPct;
      vm.memHist.push(memPct);
    }
    if (s.diskRdBps !== undefined || s.diskWrBps !== undefined) {
      vm.diskRdBps = s.diskRdBps;
      vm.diskWrBps = s.diskWrBps;
      vm.diskHist.push((s.diskRdBps ?? 0) + (s.diskWrBps ?? 0));
    }
    if (s.netRxBps !== undefined || s.netTxBps !== undefined) {
      vm.netRxBps = s.netRxBps;
      vm.netTxBps = s.netTxBps;
      vm.netHist.push((s.netRxBps ?? 0) + (s.netTxBps ?? 0));
    }
  }

  /** Optimistic local change after a command succeeded, before the next poll confirms it. */
  setVmState(key: string, state: string): void {
    const vm = this.vms.get(key);
    if (!vm || vm.state === state) return;
    vm.state = state;
    this.inventory++;
    this.changed();
  }

  vmsOf(node: string): VmRecord[] {
    const out: VmRecord[] = [];
    for (const key of this.byNode.get(node) ?? []) {
      const vm = this.vms.get(key);
      if (vm) out.push(vm);
    }
    return out;
  }
}
