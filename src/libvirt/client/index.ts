import { guardFeature, type DriverFeatureName, type FeatureProbe } from '../capabilities.js';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type {
  AllStatsOptions, BlockStats, DhcpLease, DomainMemoryStats, InterfaceStats, DomainEvent, DomainInfo, DomainRef, DomainStats, HostInfo, Hypervisor, JobStats, ListDomainsOptions,
  MigrateOptions, NetworkInfo, NodeStats, SchedulerParams, Scope, SnapshotInfo, StoragePoolInfo, StorageVolumeInfo, Unsubscribe, VolumeRef,
} from '../hypervisor.js';
import { ConnectionClosedError, ErrorCode, LibvirtError } from '../errors.js';
import { DriverFeature, Proc } from '../rpc/constants.js';
import { RpcConnection } from '../rpc/connection.js';
import { endpointOf, parseLibvirtUri, type LibvirtUri } from '../uri.js';
import * as dom from '../procedures/domain.js';
import * as host from '../procedures/host.js';
import * as stats from '../procedures/stats.js';
import * as snap from '../procedures/snapshot.js';
import * as storage from '../procedures/storage.js';
import * as network from '../procedures/network.js';
import * as migration from '../procedures/migration.js';
import * as qemu from '../procedures/qemu.js';
import { openConsole } from '../procedures/console.js';
import type { DomainHandle } from '../procedures/types.js';
import type { TypedValue } from '../xdr/typed-params.js';
import { EventHub } from './events.js';

export { parseLibvirtUri } from '../uri.js';
export type { LibvirtUri } from '../uri.js';

export interface ConnectOptions {
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
  /** Keepalive interval (default 5 s; 0 = off). */
  keepaliveMs?: number;
  /** Silent keepalive intervals before the connection is declared dead (default 5). */
  keepaliveCount?: number;
  readOnly?: boolean;
  /** Reopen by itself after the connection drops (default false): retries every retryMs. */
  autoReconnect?: boolean | { retryMs?: number };
  /** Timeout for a whole migration call (default 10 min). */
  migrateTimeoutMs?: number;
}

/** connectLibvirt's result: the Hypervisor interface plus lower-level extras. */
export class LibvirtClient extends EventEmitter implements Hypervisor, FeatureProbe {
  readonly simulated = false;
  readonly parsed: LibvirtUri;
  private rpcConn: RpcConnection;
  private readonly events = new EventHub();
  private readonly handles = new Map<string, DomainHandle>();
  private closing = false;
  private reconnecting: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

  private constructor(readonly uri: string, rpc: RpcConnection, private readonly opts: ConnectOptions) {
    super();
    this.parsed = parseLibvirtUri(uri);
    this.rpcConn = rpc;
    this.watch(rpc);
  }

  /** Open, authenticate and attach. */
  static async open(uri: string, opts: ConnectOptions = {}): Promise<LibvirtClient> {
    const rpc = await LibvirtClient.dial(uri, opts);
    const c = new LibvirtClient(uri, rpc, opts);
    await c.events.attach(rpc);
    return c;
  }

  private static async dial(uri: string, opts: ConnectOptions): Promise<RpcConnection> {
    const parsed = parseLibvirtUri(uri);
    const rpc = await RpcConnection.open(endpointOf(parsed), {
      uri,
      timeoutMs: opts.timeoutMs ?? 30000,
      keepaliveMs: opts.keepaliveMs ?? 5000,
      keepaliveCount: opts.keepaliveCount ?? 5,
    });
    try {
      await host.authenticateAndOpen(rpc, parsed.daemonUri, opts.readOnly ?? false);
      if ((opts.keepaliveMs ?? 5000) > 0) await host.enableServerKeepalive(rpc);
    } catch (e) {
      await rpc.close();
      throw e;
    }
    return rpc;
  }

  private watch(rpc: RpcConnection): void {
    rpc.once('close', (err: Error) => {
      if (rpc !== this.rpcConn) return;
      this.emit('disconnect', err);
      const auto = this.opts.autoReconnect;
      if (auto && !this.closing) this.scheduleRetry(typeof auto === 'object' ? (auto.retryMs ?? 1000) : 1000);
    });
  }

  private scheduleRetry(ms: number): void {
    if (this.retryTimer || this.closing) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.reconnect().catch(() => this.scheduleRetry(ms));
    }, ms);
    this.retryTimer.unref();
  }

  /** The RPC connection in use (for extras and tests). */
  get rpc(): RpcConnection {
    return this.rpcConn;
  }

  isAlive(): boolean {
    return this.rpcConn.alive;
  }

  /** Open a new connection to the same URI; event subscriptions carry over. */
  reconnect(): Promise<void> {
    if (this.closing) return Promise.reject(new ConnectionClosedError(this.uri, 'client closed'));
    this.reconnecting ??= (async () => {
      try {
        const rpc = await LibvirtClient.dial(this.uri, this.opts);
        const old = this.rpcConn;
        this.rpcConn = rpc;
        this.handles.clear();
        this.watch(rpc);
        if (old.alive) await old.close();
        await this.events.attach(rpc);
        this.emit('reconnect');
      } finally {
        this.reconnecting = null;
      }
    })();
    return this.reconnecting;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.rpcConn.alive) {
      await this.rpcConn.call(Proc.CONNECT_CLOSE, undefined, undefined, { timeoutMs: 2000 }).catch(() => undefined);
    }
    await this.rpcConn.close();
  }

  /** Domain handle by name, cached; a stale cache entry (domain redefined) is refreshed once. */
  private async withDomain<T>(name: string, fn: (d: DomainHandle) => Promise<T>): Promise<T> {
    const cached = this.handles.get(name);
    if (cached) {
      try {
        return await fn(cached);
      } catch (e) {
        if (!(e instanceof LibvirtError) || e.code !== ErrorCode.NO_DOMAIN) throw e;
        this.handles.delete(name);
      }
    }
    const d = await dom.lookupByName(this.rpcConn, name);
    if (this.handles.size > 10000) this.handles.clear();
    this.handles.set(name, d);
    return fn(d);
  }

  hostInfo(): Promise<HostInfo> {
    return host.hostInfo(this.rpcConn);
  }
  capabilities(): Promise<string> {
    return host.capabilities(this.rpcConn);
  }
  /** The driver's own answer to virConnectSupportsFeature (the capability layer's probe). */
  driverSupports(feature: DriverFeatureName): Promise<boolean> {
    return host.supportsFeature(this.rpcConn, feature === 'migration-p2p' ? DriverFeature.MIGRATION_P2P : DriverFeature.MIGRATION_OFFLINE);
  }
  nodeStats(): Promise<NodeStats> {
    return host.nodeStats(this.rpcConn);
  }

  async listDomains(opts?: ListDomainsOptions): Promise<DomainRef[]> {
    return (await dom.listAll(this.rpcConn, opts)).map(dom.toRef);
  }
  /** Lookup by UUID (extra): the domain's current name, uuid and id. */
  async domainByUuid(uuid: string): Promise<DomainRef> {
    return dom.toRef(await dom.lookupByUuid(this.rpcConn, uuid));
  }
  domainInfo(name: string): Promise<DomainInfo> {
    return this.withDomain(name, (d) => dom.info(this.rpcConn, d));
  }
  domainState(name: string): Promise<{ state: DomainInfo['state']; reason: number }> {
    return this.withDomain(name, (d) => dom.getState(this.rpcConn, d));
  }
  domainXml(name: string, opts?: { inactive?: boolean; secure?: boolean }): Promise<string> {
    return this.withDomain(name, (d) => dom.xml(this.rpcConn, d, opts));
  }
  async defineDomain(xml: string): Promise<DomainRef> {
    const d = await dom.define(this.rpcConn, xml);
    this.handles.delete(d.name);
    return dom.toRef(d);
  }
  async undefineDomain(name: string, opts?: { snapshots?: boolean; nvram?: boolean }): Promise<void> {
    await this.withDomain(name, (d) => dom.undefine(this.rpcConn, d, opts));
    this.handles.delete(name);
  }
  async createDomain(xml: string): Promise<DomainRef> {
    const d = await dom.createXml(this.rpcConn, xml);
    this.handles.delete(d.name);
    return dom.toRef(d);
  }
  async start(name: string): Promise<void> {
    await this.withDomain(name, (d) => dom.start(this.rpcConn, d));
  }
  shutdown(name: string): Promise<void> {
    return this.withDomain(name, (d) => dom.lifecycle.shutdown(this.rpcConn, d));
  }
  destroy(name: string): Promise<void> {
    return this.withDomain(name, (d) => dom.lifecycle.destroy(this.rpcConn, d));
  }
  reboot(name: string): Promise<void> {
    return this.withDomain(name, (d) => dom.lifecycle.reboot(this.rpcConn, d));
  }
  reset(name: string): Promise<void> {
    return guardFeature(this, 'reset', () => this.withDomain(name, (d) => dom.lifecycle.reset(this.rpcConn, d)));
  }
  suspend(name: string): Promise<void> {
    return this.withDomain(name, (d) => dom.lifecycle.suspend(this.rpcConn, d));
  }
  resume(name: string): Promise<void> {
    return this.withDomain(name, (d) => dom.lifecycle.resume(this.rpcConn, d));
  }
  setAutostart(name: string, on: boolean): Promise<void> {
    return this.withDomain(name, (d) => dom.setAutostart(this.rpcConn, d, on));
  }

  allDomainStats(opts?: AllStatsOptions & { groups?: number }): Promise<DomainStats[]> {
    return stats.allDomainStats(this.rpcConn, opts);
  }
  domainMemoryStats(name: string): Promise<DomainMemoryStats> {
    return this.withDomain(name, (d) => stats.memoryStats(this.rpcConn, d));
  }
  domainInterfaceStats(name: string, device: string): Promise<InterfaceStats> {
    return this.withDomain(name, (d) => stats.interfaceStats(this.rpcConn, d, device));
  }
  domainBlockStats(name: string, device: string): Promise<BlockStats> {
    return this.withDomain(name, (d) => stats.blockStats(this.rpcConn, d, device));
  }

  setVcpus(name: string, count: number, scope?: Scope): Promise<void> {
    return guardFeature(this, 'vcpus', () => this.withDomain(name, (d) => dom.setVcpus(this.rpcConn, d, count, scope)));
  }
  setMemory(name: string, kib: number, scope?: Scope): Promise<void> {
    return guardFeature(this, 'balloon', () => this.withDomain(name, (d) => dom.setMemory(this.rpcConn, d, kib, scope)));
  }
  setMaxMemory(name: string, kib: number): Promise<void> {
    return guardFeature(this, 'max-memory', () => this.withDomain(name, (d) => dom.setMaxMemory(this.rpcConn, d, kib)));
  }
  getSchedulerParams(name: string): Promise<SchedulerParams> {
    return guardFeature(this, 'scheduler', () => this.withDomain(name, (d) => dom.getScheduler(this.rpcConn, d)));
  }
  setSchedulerParams(name: string, params: SchedulerParams, scope?: Scope): Promise<void> {
    return guardFeature(this, 'scheduler', () => this.withDomain(name, (d) => dom.setScheduler(this.rpcConn, d, params, scope)));
  }

  attachDevice(name: string, xml: string, scope?: Scope): Promise<void> {
    return this.withDomain(name, (d) => dom.device(this.rpcConn, Proc.DOMAIN_ATTACH_DEVICE_FLAGS, d, xml, scope));
  }
  detachDevice(name: string, xml: string, scope?: Scope): Promise<void> {
    return this.withDomain(name, (d) => dom.device(this.rpcConn, Proc.DOMAIN_DETACH_DEVICE_FLAGS, d, xml, scope));
  }
  updateDevice(name: string, xml: string, scope?: Scope): Promise<void> {
    return this.withDomain(name, (d) => dom.device(this.rpcConn, Proc.DOMAIN_UPDATE_DEVICE_FLAGS, d, xml, scope));
  }

  async snapshotCreate(name: string, xml: string): Promise<string> {
    return (await guardFeature(this, 'snapshots', () => this.withDomain(name, (d) => snap.create(this.rpcConn, d, xml)))).name;
  }
  snapshotList(name: string): Promise<SnapshotInfo[]> {
    return guardFeature(this, 'snapshots', () => this.withDomain(name, (d) => snap.list(this.rpcConn, d)));
  }
  snapshotCurrent(name: string): Promise<string | null> {
    return guardFeature(this, 'snapshots', () => this.withDomain(name, (d) => snap.current(this.rpcConn, d)));
  }
  snapshotRevert(name: string, snapshot: string): Promise<void> {
    return guardFeature(this, 'snapshots', () => this.withDomain(name, async (d) => snap.revert(this.rpcConn, await snap.lookup(this.rpcConn, d, snapshot))));
  }
  snapshotDelete(name: string, snapshot: string): Promise<void> {
    return guardFeature(this, 'snapshots', () => this.withDomain(name, async (d) => snap.remove(this.rpcConn, await snap.lookup(this.rpcConn, d, snapshot))));
  }

  async listPools(): Promise<StoragePoolInfo[]> {
    const pools = await storage.listAllPools(this.rpcConn);
    return Promise.all(pools.map((p) => storage.poolInfo(this.rpcConn, p)));
  }
  async poolXml(pool: string): Promise<string> {
    return storage.poolXml(this.rpcConn, await storage.lookupPool(this.rpcConn, pool));
  }
  async poolRefresh(pool: string): Promise<void> {
    await storage.refresh(this.rpcConn, await storage.lookupPool(this.rpcConn, pool));
  }
  async listVolumes(pool: string): Promise<StorageVolumeInfo[]> {
    const vols = await storage.listAllVolumes(this.rpcConn, await storage.lookupPool(this.rpcConn, pool));
    return Promise.all(vols.map((v) => storage.volumeInfo(this.rpcConn, v)));
  }
  async createVolume(pool: string, xml: string): Promise<StorageVolumeInfo> {
    const v = await storage.createVolume(this.rpcConn, await storage.lookupPool(this.rpcConn, pool), xml);
    return storage.volumeInfo(this.rpcConn, v);
  }
  async cloneVolume(pool: string, xml: string, from: VolumeRef): Promise<StorageVolumeInfo> {
    const [dest, src] = await Promise.all([storage.lookupPool(this.rpcConn, pool), storage.lookupPool(this.rpcConn, from.pool)]);
    const v = await storage.cloneVolume(this.rpcConn, dest, xml, await storage.lookupVolume(this.rpcConn, src, from.volume));
    return storage.volumeInfo(this.rpcConn, v);
  }
  async resizeVolume(pool: string, volume: string, capacity: number): Promise<StorageVolumeInfo> {
    const v = await storage.lookupVolume(this.rpcConn, await storage.lookupPool(this.rpcConn, pool), volume);
    await storage.resizeVolume(this.rpcConn, v, capacity);
    return storage.volumeInfo(this.rpcConn, v);
  }
  volumeStream(ref: VolumeRef, direction: 'download' | 'upload'): Promise<Duplex> {
    return guardFeature(this, 'volume-data', async () => {
      const v = await storage.lookupVolume(this.rpcConn, await storage.lookupPool(this.rpcConn, ref.pool), ref.volume);
      return storage.openVolumeStream(this.rpcConn, v, direction);
    });
  }
  async deleteVolume(pool: string, volume: string): Promise<void> {
    const p = await storage.lookupPool(this.rpcConn, pool);
    await storage.deleteVolume(this.rpcConn, await storage.lookupVolume(this.rpcConn, p, volume));
  }

  poolDefine(xml: string): Promise<string> {
    return guardFeature(this, 'pools', async () => (await storage.definePool(this.rpcConn, xml)).name);
  }
  poolBuild(pool: string): Promise<void> {
    return guardFeature(this, 'pool-build', async () => storage.poolOp(this.rpcConn, Proc.STORAGE_POOL_BUILD, await storage.lookupPool(this.rpcConn, pool)));
  }
  poolStart(pool: string): Promise<void> {
    return guardFeature(this, 'pools', async () => storage.poolOp(this.rpcConn, Proc.STORAGE_POOL_CREATE, await storage.lookupPool(this.rpcConn, pool)));
  }
  networkDhcpLeases(name: string): Promise<DhcpLease[]> {
    return guardFeature(this, 'dhcp-leases', async () => network.dhcpLeases(this.rpcConn, await network.lookup(this.rpcConn, name)));
  }
  async listNetworks(): Promise<NetworkInfo[]> {
    const nets = await network.listAll(this.rpcConn);
    return Promise.all(nets.map((n) => network.info(this.rpcConn, n)));
  }
  async networkXml(name: string): Promise<string> {
    return network.xml(this.rpcConn, await network.lookup(this.rpcConn, name));
  }
  async networkDefine(xml: string): Promise<string> {
    return (await network.define(this.rpcConn, xml)).name;
  }
  async networkUndefine(name: string): Promise<void> {
    await network.simple(this.rpcConn, Proc.NETWORK_UNDEFINE, await network.lookup(this.rpcConn, name));
  }
  async networkStart(name: string): Promise<void> {
    await network.simple(this.rpcConn, Proc.NETWORK_CREATE, await network.lookup(this.rpcConn, name));
  }
  async networkStop(name: string): Promise<void> {
    await network.simple(this.rpcConn, Proc.NETWORK_DESTROY, await network.lookup(this.rpcConn, name));
  }
  async networkSetAutostart(name: string, on: boolean): Promise<void> {
    await network.setAutostart(this.rpcConn, await network.lookup(this.rpcConn, name), on);
  }

  migrate(name: string, destUri: string, opts: MigrateOptions = {}): Promise<void> {
    return guardFeature(this, opts.live === false ? 'offline-migration' : 'migration',
      () => this.withDomain(name, (d) => migration.migrateP2P(this.rpcConn, d, destUri, opts, this.opts.migrateTimeoutMs ?? 600000)));
  }
  jobStats(name: string, completed?: boolean): Promise<JobStats> {
    return this.withDomain(name, (d) => migration.jobStats(this.rpcConn, d, completed));
  }
  abortJob(name: string): Promise<void> {
    return guardFeature(this, 'job-abort', () => this.withDomain(name, (d) => dom.lifecycle.abortJob(this.rpcConn, d)));
  }

  onDomainEvent(listener: (e: DomainEvent) => void): Promise<Unsubscribe> {
    return this.events.subscribe(listener);
  }

  openConsole(name: string, device?: string, opts?: { force?: boolean }): Promise<Duplex> {
    return guardFeature(this, 'console', () => this.withDomain(name, (d) => openConsole(this.rpcConn, d, device, opts?.force)));
  }
  guestAgentCommand(name: string, command: string, timeoutSec?: number): Promise<string> {
    return guardFeature(this, 'guest-agent', () => this.withDomain(name, (d) => qemu.agentCommand(this.rpcConn, d, command, timeoutSec)));
  }
  /** virDomainGetGuestInfo (QEMU guest agent): os.*, hostname, user.*, fs.*, ... as typed values. */
  guestInfo(name: string, types?: number): Promise<Record<string, TypedValue>> {
    return guardFeature(this, 'guest-agent', () => this.withDomain(name, (d) => qemu.guestInfo(this.rpcConn, d, types)));
  }
}

/** Connect to a libvirt daemon by URI (qemu:///system, qemu+tcp://host/system, test+unix:///node.xml?socket=...). */
export async function connectLibvirt(uri: string, opts?: ConnectOptions): Promise<LibvirtClient> {
  return LibvirtClient.open(uri, opts);
}
