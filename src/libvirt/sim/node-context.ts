/**
 * What the simulator's helper modules (migrate, snapshots, tuning) need of a
 * node: a narrow context instead of the whole simulated hypervisor, so the
 * engine (node.ts, hypervisor.ts) can call them without an import cycle.
 * SimNode implements it.
 */
import type { DomainEvent, DomainEventKind } from '../hypervisor.js';
import type { LifecycleDetail } from './constants.js';
import type { DomainConfig } from './domain-config.js';
import type { SimDomain } from './domain.js';
import type { GuestPolicy } from './guest.js';
import type { SimHost } from './host.js';
import type { SimNetworks } from './network.js';
import type { SimStorage } from './storage.js';
import type { SimDriverKind } from './drivers.js';

export interface NodeContext {
  readonly node: string;
  /** Which real driver this node answers as (drivers.ts). */
  readonly kind: SimDriverKind;
  readonly host: SimHost;
  readonly storage: SimStorage;
  readonly networks: SimNetworks;
  readonly peers: SimPeers;
  /** KiB promised to migrations coming in. */
  incomingKiB: number;
  /** Time for the guests of this node. */
  readonly guestClock: () => number;
  isAlive(): boolean;
  sync(): number;
  dom(name: string): SimDomain;
  lockFree(d: SimDomain): void;
  newMac(): string;
  emit(kind: DomainEventKind, d: SimDomain, extra?: Partial<DomainEvent>): void;
  lifecycle(d: SimDomain, event: keyof typeof LifecycleDetail, detail: number): void;
  boot(d: SimDomain, live: DomainConfig, reason: number, now: number): void;
  powerOff(d: SimDomain, reason: number, detail: number): void;
  checkStartable(c: DomainConfig, extraKiB?: number): void;
  kick(d: SimDomain): void;
}

/** The other nodes of the simulated cluster, as a node sees them. */
export interface SimPeers {
  get(node: string): NodeContext | undefined;
  kick(): void;
  guestPolicy: GuestPolicy;
}
