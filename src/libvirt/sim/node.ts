/** One simulated node's engine: domains, boots and power-offs, events, timed work (guest shutdowns, migrations). */
import type { Duplex } from 'node:stream';
import type { DomainEvent, DomainEventKind } from '../hypervisor.js';
import { ConnectionClosedError } from '../errors.js';
import type { SimClock } from './clock.js';
import { LifecycleDetail, Reason } from './constants.js';
import type { DomainConfig } from './domain-config.js';
import { SimDomain } from './domain.js';
import { GUEST_OSES } from './guest-os.js';
import { failed, invalid, jobLocked, noDomain, outOfMemory } from './errors.js';
import { SimHost, type HostSpec } from './host.js';
import * as migration from './migrate.js';
import type { NodeContext, SimPeers } from './node-context.js';
import { SimNetworks, noNetwork } from './network.js';
import { hashString, macFrom, Rng, uuidFrom } from './rng.js';
import { SimStorage } from './storage.js';
import { macForKind, type SimDriverKind } from './drivers.js';
import { makeWorkload, WORKLOAD_KINDS, type WorkloadKind, type WorkloadParams } from './workload.js';

/** The engine of one simulated node, under the Hypervisor API (hypervisor.ts): state changes, events, timed work. */
export class SimNode implements NodeContext {
  readonly simulated = true;
  readonly uri: string;
  readonly host: SimHost;
  readonly storage: SimStorage;
  readonly networks: SimNetworks;
  readonly rng: Rng;
  protected alive = true;
  protected nextId = 1;
  protected readonly listeners = new Set<(e: DomainEvent) => void>();
  /** Domains with timed work in progress (guest shutdown, migration). */
  readonly busy = new Set<SimDomain>();
  /** KiB promised to migrations coming in. */
  incomingKiB = 0;
  protected readonly consoles = new Map<SimDomain, Duplex>();

  constructor(readonly node: string, spec: HostSpec, readonly clock: SimClock, seed: number, readonly peers: SimPeers, stepMs = 1000, readonly kind: SimDriverKind = 'qemu') {
    this.uri = `sim://${node}`;
    this.rng = new Rng(seed);
    this.host = new SimHost(spec, clock.now(), stepMs);
    const uuid = (): string => uuidFrom(this.rng);
    this.storage = new SimStorage(node, uuid);
    this.networks = new SimNetworks(node, uuid);
  }

  // ---- plumbing used by the helper modules (their NodeContext) ------------------------------

  isAlive(): boolean {
    return this.alive;
  }

  /** Time for the guests of this node: brings the host's rates up to date first. */
  readonly guestClock = (): number => (this.alive ? this.sync() : this.clock.now());

  /** Brings the counters up to now and returns the simulated time. */
  sync(): number {
    if (!this.alive) throw new ConnectionClosedError(this.uri, 'the simulated connection was closed');
    const t = this.clock.now();
    this.host.advanceTo(t);
    return t;
  }

  dom(name: string): SimDomain {
    if (!this.alive) throw new ConnectionClosedError(this.uri, 'the simulated connection was closed');
    const d = this.host.byName.get(name);
    if (!d) throw noDomain(name);
    return d;
  }

  /** Lifecycle changes wait for the job lock; a migration holds it. */
  lockFree(d: SimDomain): void {
    if (d.job?.active) throw jobLocked();
  }

  newMac(): string {
    return macForKind(this.kind, macFrom(this.rng));
  }

  newUuid(): string {
    return uuidFrom(this.rng);
  }

  emit(kind: DomainEventKind, d: SimDomain, extra: Partial<DomainEvent> = {}): void {
    if (this.listeners.size === 0) return;
    const c = d.current;
    const ev: DomainEvent = { kind, domain: { name: c.name, uuid: c.uuid, id: d.id }, at: this.clock.now(), ...extra };
    for (const l of this.listeners) queueMicrotask(() => l(ev));
  }

  lifecycle(d: SimDomain, event: keyof typeof LifecycleDetail, detail: number): void {
    this.emit('lifecycle', d, { event, detail });
  }

  /** Starts a QEMU process for the domain: a new id, counters from zero. */
  boot(d: SimDomain, live: DomainConfig, reason: number, now: number): void {
    d.live = live;
    d.id = this.nextId++;
    d.state = 'running';
    d.reason = reason;
    d.startedAt = now;
    d.shutdownAt = 0;
    d.throttle = 0;
    d.resetCounters();
    d.vcpuWeights = Array.from({ length: live.maxVcpus }, (_, i) => 0.7 + 0.6 * ((hashString(`${live.uuid}/${i}`) % 1000) / 1000));
    // A fresh boot starts a fresh guest; a migrated guest keeps its processes.
    if (reason !== Reason.runningMigrated) d.guest?.rebooted(now);
    this.host.invalidate();
  }

  /** The QEMU process is gone. Transient domains disappear with it. */
  powerOff(d: SimDomain, reason: number, detail: number): void {
    d.live = null;
    d.state = 'shutoff';
    d.reason = reason;
    d.shutdownAt = 0;
    d.throttle = 0;
    this.busy.delete(d);
    const con = this.consoles.get(d);
    if (con) {
      this.consoles.delete(d);
      con.push(null);
      con.destroy();
    }
    this.lifecycle(d, 'stopped', detail);
    d.id = -1;
    if (!d.persistent) {
      this.host.remove(d);
      this.lifecycle(d, 'undefined', LifecycleDetail.undefined.removed);
    }
    this.host.invalidate();
  }

  /** Checks a VM fits in this node's memory and its networks are up, as QEMU start would fail. */
  checkStartable(c: DomainConfig, extraKiB = 0): void {
    const free = this.host.spec.memKiB - this.host.committedKiB() - this.incomingKiB - extraKiB;
    if (c.memKiB > free) throw outOfMemory(this.node, c.memKiB, free);
    for (const n of c.nics) {
      if (n.type !== 'network') continue;
      if (!this.networks.has(n.source)) throw noNetwork(n.source);
      if (!this.networks.isActive(n.source)) throw invalid(`network '${n.source}' is not active`);
    }
    for (const k of c.disks) {
      if (k.type !== 'file' || k.source === undefined) continue;
      const inPool = this.storage.listPools().some((p) => p.path !== undefined && k.source?.startsWith(p.path + '/'));
      if (inPool && !this.storage.volumeByPath(k.source)) throw failed(`Cannot access storage file '${k.source}': No such file or directory`);
    }
  }

  /** Adds a domain (inventory or define); its workload comes from the XML's metadata or its name. */
  addDomain(config: DomainConfig, persistent: boolean, kind?: WorkloadKind, io?: 'light' | 'web' | 'db' | 'batch'): SimDomain {
    const h = hashString(config.name);
    const wrng = new Rng(h ^ 0x2545f491);
    const k = kind ?? (WORKLOAD_KINDS.includes(config.workloadKind as WorkloadKind) ? (config.workloadKind as WorkloadKind) : 'diurnal');
    const os = GUEST_OSES[h % GUEST_OSES.length] ?? GUEST_OSES[0];
    if (!os) throw new Error('no guest OS list');
    const w = makeWorkload(k, wrng, io);
    if (config.workloadUtil !== undefined) Object.assign(w, { kind: 'idle', base: config.workloadUtil, peak: config.workloadUtil, noise: 0 });
    const d = new SimDomain(config, w, persistent, os);
    this.host.add(d);
    return d;
  }

  /** Scripts a VM's load (scenarios, the balancer's tests, the demo): the change applies from now on. */
  setWorkload(name: string, p: Partial<WorkloadParams>): void {
    this.sync();
    const d = this.dom(name);
    Object.assign(d.workload, p);
    this.host.invalidate();
    this.host.advanceTo(this.clock.now());
  }

  kick(d: SimDomain): void {
    this.busy.add(d);
    this.peers.kick();
  }

  /** Timed work: guest shutdowns finishing, migrations progressing. Called by the cluster. */
  pump(): void {
    if (!this.alive || this.busy.size === 0) return;
    const now = this.sync();
    for (const d of [...this.busy]) {
      if (d.job?.active) migration.step(this, d, now);
      else if (d.shutdownAt > 0 && d.state === 'running' && now >= d.shutdownAt) {
        this.lifecycle(d, 'shutdown', LifecycleDetail.shutdown.finished);
        this.powerOff(d, Reason.shutoffShutdown, LifecycleDetail.stopped.shutdown);
      }
      if (!d.job?.active && d.shutdownAt === 0) this.busy.delete(d);
    }
  }
}
