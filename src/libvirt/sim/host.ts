/**
 * The physics of one simulated node: VMs ask for CPU, memory and I/O from their
 * workloads; the host divides its cores among them by cpu_shares when demand
 * exceeds capacity; counters integrate over simulated time in fixed cells, so
 * the value at a time does not depend on how often anyone polled.
 */
import type { SimDomain } from './domain.js';
import { emptySample, sampleAt } from './workload.js';

export interface HostSpec {
  name: string;
  cores: number;
  memKiB: number;
  mhz: number;
  cpuModel: string;
  sockets: number;
  threads: number;
  /** Migration bandwidth of the node's link, MiB/s. */
  linkMiBs: number;
  /** Memory the host itself uses (KiB). */
  reservedKiB: number;
}

const AVG_PKT = 900;
const RD_REQ = 64 * 1024;
const WR_REQ = 16 * 1024;
/** More cells than this behind: the rest is integrated in one go (after a long pause of the process). */
const MAX_CELLS = 900;

export class SimHost {
  readonly domains: SimDomain[] = [];
  readonly byName = new Map<string, SimDomain>();
  /** Simulated ms up to which counters are integrated. */
  t: number;
  private cell = -1;
  private demand = new Float64Array(64);
  private weight = new Float64Array(64);
  private alloc = new Float64Array(64);
  private done = new Uint8Array(64);
  private readonly sample = emptySample();
  readonly cpu = { userNs: 0, kernelNs: 0, idleNs: 0, iowaitNs: 0 };
  usedCores = 0;
  /** Cores taken by the host itself for migrations in progress (QEMU's migration threads, the copy). */
  overheadCores = 0;

  constructor(readonly spec: HostSpec, startMs: number, readonly stepMs = 1000) {
    this.t = startMs;
  }

  add(dom: SimDomain): void {
    this.domains.push(dom);
    this.byName.set(dom.config.name, dom);
    this.invalidate();
  }

  remove(dom: SimDomain): void {
    const i = this.domains.indexOf(dom);
    if (i >= 0) this.domains.splice(i, 1);
    this.byName.delete(dom.config.name);
    this.invalidate();
  }

  /** Something changed (state, shares, vCPUs, balloon): recompute the current cell's rates. */
  invalidate(): void {
    this.cell = -1;
  }

  advanceTo(now: number): void {
    if (now <= this.t) {
      this.ensureCell(Math.floor(this.t / this.stepMs));
      return;
    }
    const step = this.stepMs;
    if ((now - this.t) / step > MAX_CELLS) {
      const jump = now - MAX_CELLS * step - this.t;
      this.ensureCell(Math.floor(this.t / step));
      this.integrate(jump / 1000);
      this.t += jump;
    }
    while (this.t < now) {
      const cell = Math.floor(this.t / step);
      const segEnd = Math.min((cell + 1) * step, now);
      this.ensureCell(cell);
      this.integrate((segEnd - this.t) / 1000);
      this.t = segEnd;
    }
    this.ensureCell(Math.floor(this.t / step));
  }

  private ensureCell(cell: number): void {
    if (cell === this.cell) return;
    this.cell = cell;
    this.computeRates((cell * this.stepMs) / 1000);
  }

  private grow(n: number): void {
    if (this.demand.length >= n) return;
    const size = Math.max(n, this.demand.length * 2);
    this.demand = new Float64Array(size);
    this.weight = new Float64Array(size);
    this.alloc = new Float64Array(size);
    this.done = new Uint8Array(size);
  }

  /** Rates for one cell: workload demand, then CPU shared by weight (water-filling). */
  private computeRates(tSec: number): void {
    const doms = this.domains;
    const n = doms.length;
    this.grow(n);
    const { demand, weight, alloc } = this;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = doms[i] as SimDomain;
      const c = d.live;
      if (!c || d.state !== 'running') {
        demand[i] = 0;
        weight[i] = 0;
        d.memFrac = c ? sampleAt(d.workload, tSec, this.sample).memFrac : 0;
        continue;
      }
      const s = sampleAt(d.workload, tSec, this.sample);
      let want = s.util * c.vcpus * (1 - d.throttle);
      if (c.vcpuQuota > 0 && c.vcpuPeriod > 0) want = Math.min(want, (c.vcpus * c.vcpuQuota) / c.vcpuPeriod);
      demand[i] = want;
      weight[i] = c.cpuShares > 0 ? c.cpuShares : 1;
      total += want;
      d.memFrac = s.memFrac;
      d.rdBps = s.diskRdBps;
      d.wrBps = s.diskWrBps;
      d.rxBps = s.netRxBps;
      d.txBps = s.netTxBps;
    }
    shareCpu(demand, weight, n, Math.max(0, this.spec.cores - this.overheadCores), alloc, this.done, total);
    let used = 0;
    for (let i = 0; i < n; i++) {
      const d = doms[i] as SimDomain;
      const want = demand[i] as number;
      const got = alloc[i] as number;
      d.demandCores = want;
      d.allocCores = got;
      used += got;
      if (want <= 0) {
        d.rdBps = d.wrBps = d.rxBps = d.txBps = 0;
        continue;
      }
      // A VM starved of CPU also does less I/O.
      const f = 0.3 + 0.7 * (got / want);
      d.rdBps *= f;
      d.wrBps *= f;
      d.rxBps *= f;
      d.txBps *= f;
    }
    this.usedCores = used;
  }

  private integrate(dt: number): void {
    if (dt <= 0) return;
    const ns = dt * 1e9;
    for (const d of this.domains) {
      if (d.state !== 'running' || !d.live) continue;
      d.cpuTimeNs += d.allocCores * ns;
      const rd = d.rdBps * dt;
      const wr = d.wrBps * dt;
      const rx = d.rxBps * dt;
      const tx = d.txBps * dt;
      const io = d.io;
      io.rdBytes += rd;
      io.wrBytes += wr;
      io.rxBytes += rx;
      io.txBytes += tx;
      const disks = d.diskIo;
      const nd = disks.length;
      for (let k = 0; k < nd; k++) {
        // The first disk carries most of the I/O; the others share the rest.
        const share = nd === 1 ? 1 : k === 0 ? 0.6 : 0.4 / (nd - 1);
        const c = disks[k];
        if (!c) continue;
        c.rdBytes += rd * share;
        c.wrBytes += wr * share;
        c.rdReqs = Math.floor(c.rdBytes / RD_REQ);
        c.wrReqs = Math.floor(c.wrBytes / WR_REQ);
      }
      const nics = d.nicIo;
      const nn = nics.length;
      for (let k = 0; k < nn; k++) {
        const c = nics[k];
        if (!c) continue;
        c.rxBytes += rx / nn;
        c.txBytes += tx / nn;
        c.rxPkts = Math.floor(c.rxBytes / AVG_PKT);
        c.txPkts = Math.floor(c.txBytes / AVG_PKT);
      }
    }
    const cores = this.spec.cores;
    const used = Math.min(cores, this.usedCores + this.overheadCores + 0.05 * cores);
    this.cpu.userNs += used * 0.85 * ns;
    this.cpu.kernelNs += used * 0.13 * ns;
    this.cpu.iowaitNs += used * 0.02 * ns;
    this.cpu.idleNs += (cores - used) * ns;
  }

  /** Memory a running VM takes on the host now (KiB): what the guest uses, capped by its balloon. */
  rssKiB(d: SimDomain): number {
    const c = d.live;
    if (!c) return 0;
    const want = c.maxMemKiB * (d.memFrac > 0 ? d.memFrac : d.workload.memBase);
    return Math.min(c.memKiB, want) + 180 * 1024;
  }

  usedMemKiB(): number {
    let used = this.spec.reservedKiB;
    for (const d of this.domains) if (d.live) used += this.rssKiB(d);
    return used;
  }

  /** Memory promised to running VMs (their balloon targets): what a new VM or an incoming migration must fit in. */
  committedKiB(): number {
    let c = this.spec.reservedKiB;
    for (const d of this.domains) if (d.live) c += d.live.memKiB;
    return c;
  }
}

/**
 * Weighted max-min fair share: VMs asking less than their weighted share get
 * what they ask; the rest split what is left by weight. Writes into `out`.
 */
export function shareCpu(demand: Float64Array, weight: Float64Array, n: number, capacity: number, out: Float64Array, done: Uint8Array, total?: number): void {
  let sum = total ?? 0;
  if (total === undefined) for (let i = 0; i < n; i++) sum += demand[i] as number;
  if (sum <= capacity) {
    for (let i = 0; i < n; i++) out[i] = demand[i] as number;
    return;
  }
  let remaining = capacity;
  let sumW = 0;
  for (let i = 0; i < n; i++) {
    out[i] = 0;
    const open = (demand[i] as number) > 0;
    done[i] = open ? 0 : 1;
    if (open) sumW += weight[i] as number;
  }
  while (sumW > 0) {
    let satisfied = false;
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const fair = (remaining * (weight[i] as number)) / sumW;
      if ((demand[i] as number) <= fair) {
        out[i] = demand[i] as number;
        done[i] = 1;
        satisfied = true;
      }
    }
    if (!satisfied) {
      for (let i = 0; i < n; i++) if (!done[i]) out[i] = (remaining * (weight[i] as number)) / sumW;
      return;
    }
    remaining = capacity;
    sumW = 0;
    for (let i = 0; i < n; i++) {
      if (done[i]) remaining -= out[i] as number;
      else sumW += weight[i] as number;
    }
  }
}
