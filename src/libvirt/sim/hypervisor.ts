/**
 * SimHypervisor: one simulated node behind the same Hypervisor interface as the
 * libvirt client. It says it is simulated everywhere: driver 'Simulated',
 * uri and hostname sim://..., simulated: true, and a comment in every XML.
 */
import type { Duplex } from 'node:stream';
import type {
  AllStatsOptions, BlockStats, DhcpLease, DomainMemoryStats, InterfaceStats, DomainEvent, DomainInfo, DomainRef, DomainStats, HostInfo, Hypervisor, JobStats, ListDomainsOptions,
  MigrateOptions, NetworkInfo, NodeStats, SchedulerParams, Scope, SnapshotInfo, StoragePoolInfo, StorageVolumeInfo, Unsubscribe, VolumeRef,
} from '../hypervisor.js';
import { cloneConfig, type DomainConfig } from './domain-config.js';
import { domainXml, parseDomainXml } from './domain-xml.js';
import { agentUnavailable, failed, From, invalid, invalidArg, notRunning } from './errors.js';
import { ErrorCode, LibvirtError } from '../errors.js';
import { hashString, Rng, uuidFrom } from './rng.js';
import { buildStats, memoryStatsOf } from './stats.js';
import * as tuning from './tuning.js';
import * as snapshots from './snapshots.js';
import * as migration from './migrate.js';
import { openSimConsole } from './console.js';
import { answerAgentCommand } from './guest-agent.js';
import { SimGuest } from './guest.js';
import { LifecycleDetail, Reason } from './constants.js';
import { SimNode } from './node.js';
import { noNetwork } from './network.js';
import { guardFeature, type DriverFeatureName, type Feature, type FeatureProbe } from '../capabilities.js';
import { checkDomainType, domain0Refusal, driverProfile, guestCapabilities, migrationRefusal, unsupportedCall, type SimCall } from './drivers.js';

export { LifecycleDetail } from './constants.js';
export type { SimPeers } from './node-context.js';

export class SimHypervisor extends SimNode implements Hypervisor, FeatureProbe {
  /**
   * A call this node's kind of driver lacks fails as libvirt fails it (NO_SUPPORT), through the
   * same guard as the libvirt client's, so the refusal names the driver and node and the
   * capability layer records it (drivers.ts has the facts).
   */
  private gate<T>(feature: Feature, call: SimCall, fn: () => Promise<T>): Promise<T> {
    return guardFeature(this, feature, async () => {
      const no = unsupportedCall(this.kind, call);
      if (no) throw no;
      return fn();
    });
  }

  /** Xen's control domain refuses every lifecycle change (libxl's LIBXL_CHECK_DOM0). */
  private notDomain0(name: string): void {
    const no = domain0Refusal(this.kind, name);
    if (no) throw no;
  }

  /** virConnectSupportsFeature, as the driver of this kind answers it. */
  async driverSupports(feature: DriverFeatureName): Promise<boolean> {
    this.sync();
    const p = driverProfile(this.kind);
    return feature === 'migration-p2p' ? p.p2p : p.offline;
  }

  // ---- Hypervisor: connection and host ---------------------------------------------------

  async close(): Promise<void> {
    for (const c of this.consoles.values()) c.destroy();
    this.consoles.clear();
    this.listeners.clear();
    this.alive = false;
  }

  async hostInfo(): Promise<HostInfo> {
    this.sync();
    const s = this.host.spec;
    const p = driverProfile(this.kind);
    return {
      hostname: `${this.node}.simulated`,
      uri: this.uri,
      driver: p.driver,
      hypervisorVersion: p.hypervisorVersion,
      libvirtVersion: '10.0.0',
      simulated: true,
      node: { model: 'x86_64', memoryKiB: s.memKiB, cpus: s.cores, mhz: s.mhz, numaNodes: s.sockets, sockets: s.sockets, cores: s.cores / s.sockets / s.threads, threads: s.threads },
    };
  }

  async capabilities(): Promise<string> {
    this.sync();
    const s = this.host.spec;
    return (
      `<!-- Simulated by ve-manager: capabilities of the simulated node sim://${this.node}. -->\n<capabilities>\n  <host>\n    <uuid>${uuidFrom(new Rng(hashString(this.node)))}</uuid>\n` +
      `    <cpu>\n      <arch>x86_64</arch>\n      <model>${s.cpuModel}</model>\n      <vendor>${s.cpuModel.startsWith('AMD') ? 'AMD' : 'Intel'}</vendor>\n` +
      `      <topology sockets='${s.sockets}' dies='1' cores='${s.cores / s.sockets / s.threads}' threads='${s.threads}'/>\n    </cpu>\n` +
      // LXC has no migration_features at all; libxl and QEMU migrate live.
      (this.kind === 'lxc' ? '' : `    <migration_features>\n      <live/>\n      <uri_transports>\n        <uri_transport>sim</uri_transport>\n      </uri_transports>\n    </migration_features>\n`) +
      `  </host>\n${guestCapabilities(this.kind)}</capabilities>\n`
    );
  }

  async nodeStats(): Promise<NodeStats> {
    this.sync();
    const total = this.host.spec.memKiB;
    const used = Math.min(total, this.host.usedMemKiB());
    const free = total - used;
    const c = this.host.cpu;
    return {
      cpu: { kernelNs: Math.round(c.kernelNs), userNs: Math.round(c.userNs), idleNs: Math.round(c.idleNs), iowaitNs: Math.round(c.iowaitNs) },
      memory: { totalKiB: total, freeKiB: Math.round(free * 0.6), buffersKiB: Math.round(free * 0.05), cachedKiB: Math.round(free * 0.35) },
    };
  }

  // ---- domains -----------------------------------------------------------------------------

  async listDomains(opts: ListDomainsOptions = {}): Promise<DomainRef[]> {
    this.sync();
    const both = opts.active === undefined && opts.inactive === undefined;
    const out: DomainRef[] = [];
    for (const d of this.host.domains) {
      const on = d.active;
      if (both || (on && opts.active) || (!on && opts.inactive)) out.push({ name: d.current.name, uuid: d.current.uuid, id: d.id });
    }
    return out;
  }

  async domainInfo(name: string): Promise<DomainInfo> {
    this.sync();
    const d = this.dom(name);
    const c = d.current;
    return { name: c.name, uuid: c.uuid, id: d.id, state: d.state, maxMemKiB: c.maxMemKiB, memKiB: c.memKiB, vcpus: c.vcpus, cpuTimeNs: Math.round(d.cpuTimeNs), persistent: d.persistent, autostart: d.autostart };
  }

  async domainXml(name: string, opts: { inactive?: boolean; secure?: boolean } = {}): Promise<string> {
    this.sync();
    return domainXml(this.dom(name), this.node, opts);
  }

  async defineDomain(xml: string): Promise<DomainRef> {
    this.sync();
    const p = parseDomainXml(xml, () => this.newMac());
    checkDomainType(this.kind, p.type);
    const byName = this.host.byName.get(p.name);
    const byUuid = p.uuid === undefined ? undefined : this.host.domains.find((d) => d.config.uuid === p.uuid);
    if (byName && p.uuid !== undefined && byName.config.uuid !== p.uuid) throw failed(`domain '${p.name}' already exists with uuid ${byName.config.uuid}`);
    if (byUuid && byUuid !== byName) throw failed(`domain '${byUuid.config.name}' is already defined with uuid ${byUuid.config.uuid}`);
    if (byName) {
      this.lockFree(byName);
      byName.config = { ...p, uuid: byName.config.uuid };
      byName.persistent = true;
      this.lifecycle(byName, 'defined', LifecycleDetail.defined.updated);
      return { name: p.name, uuid: byName.config.uuid, id: byName.id };
    }
    const d = this.addDomain({ ...p, uuid: p.uuid ?? this.newUuid() }, true);
    this.lifecycle(d, 'defined', LifecycleDetail.defined.added);
    return { name: p.name, uuid: d.config.uuid, id: -1 };
  }

  async undefineDomain(name: string, opts: { snapshots?: boolean; nvram?: boolean } = {}): Promise<void> {
    this.sync();
    this.notDomain0(name);
    const d = this.dom(name);
    this.lockFree(d);
    if (!d.persistent) throw invalid('cannot undefine transient domain');
    if (d.snapshots.size > 0 && !opts.snapshots) throw invalid(`cannot delete inactive domain with ${d.snapshots.size} snapshots`);
    if (opts.snapshots) {
      d.snapshots.clear();
      d.currentSnapshot = null;
    }
    if (d.active) {
      d.persistent = false;
    } else {
      this.host.remove(d);
    }
    this.lifecycle(d, 'undefined', LifecycleDetail.undefined.removed);
  }

  async createDomain(xml: string): Promise<DomainRef> {
    const now = this.sync();
    const p = parseDomainXml(xml, () => this.newMac());
    checkDomainType(this.kind, p.type);
    const existing = this.host.byName.get(p.name);
    if (existing) throw failed(`domain '${p.name}' already exists with uuid ${existing.config.uuid}`);
    const config: DomainConfig = { ...p, uuid: p.uuid ?? this.newUuid() };
    this.checkStartable(config);
    const d = this.addDomain(config, false);
    this.boot(d, cloneConfig(config), Reason.runningBooted, now);
    this.lifecycle(d, 'started', LifecycleDetail.started.booted);
    return { name: config.name, uuid: config.uuid, id: d.id };
  }

  async start(name: string): Promise<void> {
    const now = this.sync();
    this.notDomain0(name);
    const d = this.dom(name);
    this.lockFree(d);
    if (d.active) throw invalid('domain is already running');
    this.checkStartable(d.config);
    this.boot(d, cloneConfig(d.config), Reason.runningBooted, now);
    this.lifecycle(d, 'started', LifecycleDetail.started.booted);
  }

  async shutdown(name: string): Promise<void> {
    const now = this.sync();
    this.notDomain0(name);
    const d = this.dom(name);
    this.lockFree(d);
    if (!d.active) throw notRunning();
    // The guest takes a few (simulated) seconds to power off after the ACPI request.
    if (d.shutdownAt === 0) d.shutdownAt = now + 1500 + (hashString(d.config.uuid) % 2500);
    this.kick(d);
  }

  async destroy(name: string): Promise<void> {
    this.sync();
    this.notDomain0(name);
    const d = this.dom(name);
    if (!d.active) throw notRunning();
    if (d.job?.active) migration.cancel(this, d, 'domain destroyed');
    this.powerOff(d, Reason.shutoffDestroyed, LifecycleDetail.stopped.destroyed);
  }

  async reboot(name: string): Promise<void> {
    const now = this.sync();
    this.notDomain0(name);
    const d = this.dom(name);
    this.lockFree(d);
    if (!d.active) throw notRunning();
    d.startedAt = now;
    d.shutdownAt = 0;
    d.guest?.rebooted(now);
    this.emit('reboot', d);
  }

  /** As reboot, but nothing is asked of the guest: the same fresh start (SIMULATED). */
  async reset(name: string): Promise<void> {
    return this.gate('reset', 'reset', () => this.reboot(name));
  }

  async suspend(name: string): Promise<void> {
    this.sync();
    this.notDomain0(name);
    const d = this.dom(name);
    this.lockFree(d);
    if (!d.active) throw notRunning();
    if (d.state === 'paused') throw invalid('domain is already paused');
    d.state = 'paused';
    d.reason = Reason.pausedUser;
    this.host.invalidate();
    this.lifecycle(d, 'suspended', LifecycleDetail.suspended.paused);
  }

  async resume(name: string): Promise<void> {
    this.sync();
    this.notDomain0(name);
    const d = this.dom(name);
    this.lockFree(d);
    if (!d.active) throw notRunning();
    if (d.state !== 'paused') throw invalid('domain is not paused');
    d.state = 'running';
    d.reason = Reason.runningUnpaused;
    this.host.invalidate();
    this.lifecycle(d, 'resumed', LifecycleDetail.resumed.unpaused);
  }

  async setAutostart(name: string, on: boolean): Promise<void> {
    this.sync();
    const d = this.dom(name);
    if (!d.persistent) throw invalid('cannot set autostart for transient domain');
    d.autostart = on;
  }

  async allDomainStats(opts: AllStatsOptions = {}): Promise<DomainStats[]> {
    let now = this.sync();
    // LXC and libxl have no virConnectGetAllDomainStats: the capability layer then reads per domain.
    const bulk = unsupportedCall(this.kind, 'bulkStats');
    if (bulk) throw bulk;
    if (!opts.nowait) {
      // Like libvirt without NOWAIT: wait for the job lock of VMs being migrated.
      const waits: Promise<void>[] = [];
      for (const d of this.busy) if (d.job?.active) waits.push(d.job.settled.catch(() => undefined));
      if (waits.length > 0) {
        await Promise.all(waits);
        now = this.sync();
      }
    }
    const out: DomainStats[] = [];
    const sizer = (path: string | undefined): { capacity: number; allocation: number } | undefined => this.storage.volumeByPath(path);
    const sec = now / 1000;
    for (const d of this.host.domains) {
      if (d.job?.active) continue;
      out.push(buildStats(d, this.host, sec, sizer));
    }
    return out;
  }

  /** One running domain's bulk-shaped record, which the per-domain stats calls answer from. */
  private liveRecord(call: SimCall, name: string): DomainStats {
    const no = unsupportedCall(this.kind, call);
    if (no) throw no;
    const now = this.sync();
    const d = this.dom(name);
    if (!d.live) throw notRunning();
    return buildStats(d, this.host, now / 1000, (path) => this.storage.volumeByPath(path));
  }

  async domainMemoryStats(name: string): Promise<DomainMemoryStats> {
    return memoryStatsOf(driverProfile(this.kind).memoryTags, this.liveRecord('memoryStats', name));
  }

  /** By host-side device or MAC, as virDomainNetFind looks it up. */
  async domainInterfaceStats(name: string, device: string): Promise<InterfaceStats> {
    const s = this.liveRecord('interfaceStats', name);
    const nics = this.dom(name).current.nics;
    const i = (s.net ?? []).findIndex((n, k) => n.name === device || nics[k]?.mac.toLowerCase() === device.toLowerCase());
    const n = s.net?.[i];
    if (!n) throw invalidArg(`'${device}' is not a known interface`);
    return { rxBytes: n.rxBytes, rxPkts: n.rxPkts, rxErrs: n.rxErrs ?? 0, rxDrop: n.rxDrop ?? 0, txBytes: n.txBytes, txPkts: n.txPkts, txErrs: n.txErrs ?? 0, txDrop: n.txDrop ?? 0 };
  }

  /** By target or source path; '' sums every disk (QEMU, libxl) or is the container's blkio total (LXC: no disks, none moved here). */
  async domainBlockStats(name: string, device: string): Promise<BlockStats> {
    const s = this.liveRecord('blockStats', name);
    const disks = device === '' ? (s.block ?? []) : (s.block ?? []).filter((b) => b.name === device || b.path === device);
    if (device !== '' && disks.length === 0) throw invalidArg(`invalid path: ${device}`);
    const out: BlockStats = { rdReqs: 0, rdBytes: 0, wrReqs: 0, wrBytes: 0, errs: -1 };
    for (const b of disks) {
      out.rdReqs += b.rdReqs;
      out.rdBytes += b.rdBytes;
      out.wrReqs += b.wrReqs;
      out.wrBytes += b.wrBytes;
    }
    return out;
  }

  // ---- tuning, devices, snapshots (tuning.ts, snapshots.ts) ----------------------------------

  async setVcpus(name: string, count: number, scope?: Scope): Promise<void> {
    return this.gate('vcpus', 'setVcpus', async () => tuning.setVcpus(this, name, count, scope));
  }
  async setMemory(name: string, kib: number, scope?: Scope): Promise<void> {
    tuning.setMemory(this, name, kib, scope);
  }
  async setMaxMemory(name: string, kib: number): Promise<void> {
    tuning.setMaxMemory(this, name, kib);
  }
  async getSchedulerParams(name: string): Promise<SchedulerParams> {
    return tuning.getSchedulerParams(this, name);
  }
  async setSchedulerParams(name: string, params: SchedulerParams, scope?: Scope): Promise<void> {
    tuning.setSchedulerParams(this, name, params, scope);
  }
  async attachDevice(name: string, xml: string, scope?: Scope): Promise<void> {
    tuning.attachDevice(this, name, xml, scope);
  }
  async detachDevice(name: string, xml: string, scope?: Scope): Promise<void> {
    tuning.detachDevice(this, name, xml, scope);
  }
  async updateDevice(name: string, xml: string, scope?: Scope): Promise<void> {
    tuning.updateDevice(this, name, xml, scope);
  }
  async snapshotCreate(name: string, xml: string): Promise<string> {
    return this.gate('snapshots', 'snapshotCreate', async () => snapshots.create(this, name, xml));
  }
  async snapshotList(name: string): Promise<SnapshotInfo[]> {
    return this.gate('snapshots', 'snapshotList', async () => snapshots.list(this, name));
  }
  async snapshotCurrent(name: string): Promise<string | null> {
    return this.gate('snapshots', 'snapshotCurrent', async () => {
      this.sync();
      return this.dom(name).currentSnapshot;
    });
  }
  async snapshotRevert(name: string, snapshot: string): Promise<void> {
    return this.gate('snapshots', 'snapshotRevert', async () => snapshots.revert(this, name, snapshot));
  }
  async snapshotDelete(name: string, snapshot: string): Promise<void> {
    return this.gate('snapshots', 'snapshotDelete', async () => snapshots.remove(this, name, snapshot));
  }

  // ---- storage and networks -----------------------------------------------------------------

  async listPools(): Promise<StoragePoolInfo[]> {
    this.sync();
    return this.storage.listPools();
  }
  async poolXml(pool: string): Promise<string> {
    this.sync();
    return this.storage.poolXml(pool);
  }
  async poolRefresh(pool: string): Promise<void> {
    this.sync();
    this.storage.refresh(pool);
  }
  async listVolumes(pool: string): Promise<StorageVolumeInfo[]> {
    this.sync();
    return this.storage.listVolumes(pool);
  }
  async createVolume(pool: string, xml: string): Promise<StorageVolumeInfo> {
    this.sync();
    return this.storage.createVolume(pool, xml);
  }
  async cloneVolume(pool: string, xml: string, from: VolumeRef): Promise<StorageVolumeInfo> {
    this.sync();
    return this.storage.cloneVolume(pool, xml, from);
  }
  async resizeVolume(pool: string, volume: string, capacity: number): Promise<StorageVolumeInfo> {
    this.sync();
    return this.storage.resizeVolume(pool, volume, capacity);
  }
  /** A SIMULATED volume has a size but no bytes to read or write. */
  volumeStream(ref: VolumeRef, _direction: 'download' | 'upload'): Promise<Duplex> {
    this.sync();
    return guardFeature(this, 'volume-data', () => Promise.reject(new LibvirtError(`this function is not supported by the connection driver: SIMULATED volume ${ref.pool}/${ref.volume} holds no data`, ErrorCode.NO_SUPPORT, From.STORAGE)));
  }
  async deleteVolume(pool: string, volume: string): Promise<void> {
    this.sync();
    this.storage.deleteVolume(pool, volume);
  }
  async poolDefine(xml: string): Promise<string> {
    this.sync();
    return this.storage.definePool(xml);
  }
  async poolBuild(pool: string): Promise<void> {
    this.sync();
    this.storage.buildPool(pool);
  }
  async poolStart(pool: string): Promise<void> {
    this.sync();
    this.storage.startPool(pool);
  }
  async listNetworks(): Promise<NetworkInfo[]> {
    this.sync();
    return this.networks.list();
  }
  async networkXml(name: string): Promise<string> {
    this.sync();
    return this.networks.xml(name);
  }
  async networkDefine(xml: string): Promise<string> {
    this.sync();
    return this.networks.define(xml);
  }
  async networkUndefine(name: string): Promise<void> {
    this.sync();
    this.networks.undefine(name);
  }
  async networkStart(name: string): Promise<void> {
    this.sync();
    this.networks.start(name);
  }
  async networkStop(name: string): Promise<void> {
    this.sync();
    this.networks.stop(name);
  }
  async networkSetAutostart(name: string, on: boolean): Promise<void> {
    this.sync();
    this.networks.setAutostart(name, on);
  }
  /**
   * What the network's DHCP server would have handed out: one lease per interface of each
   * running VM on it, at the address the guest itself reports (guest-system.ts), hostname the
   * VM's name. An inactive network or one without a DHCP range has none.
   */
  async networkDhcpLeases(name: string): Promise<DhcpLease[]> {
    const now = this.sync();
    const net = this.networks.list().find((n) => n.name === name);
    if (!net) throw noNetwork(name);
    if (!net.active || !net.dhcpStart || !net.ipAddress) return [];
    const base = net.ipAddress.split('.').slice(0, 3).join('.');
    const prefix = (net.netmask ?? '255.255.255.0').split('.').reduce((n, o) => n + (Number(o).toString(2).match(/1/g)?.length ?? 0), 0);
    const out: DhcpLease[] = [];
    for (const d of this.host.domains) {
      if (!d.active || !d.live) continue;
      d.live.nics.forEach((n, i) => {
        if (n.type !== 'network' || n.source !== name) return;
        const h = hashString(`${d.live?.uuid ?? ''}/${i}`);
        const ip = `${base}.${10 + (h % 240)}`;
        // Leases last an hour and are renewed at half time: a stable expiry within the next hour.
        const expiryTime = Math.floor(now / 1000) + 1800 + (h % 1800);
        out.push({ iface: net.bridge ?? '', expiryTime, type: 'ipv4', mac: n.mac, ipAddress: ip, prefix, hostname: d.config.name, clientId: `01:${n.mac}` });
      });
    }
    return out.sort((a, b) => a.ipAddress.localeCompare(b.ipAddress, 'en', { numeric: true }));
  }

  // ---- migration (migrate.ts) ------------------------------------------------------------------

  async migrate(name: string, destUri: string, opts: MigrateOptions = {}): Promise<void> {
    return this.gate(opts.live === false ? 'offline-migration' : 'migration', 'migrate', async () => {
      this.sync();
      const d = this.dom(name);
      const dest = this.peers.get(migration.parseSimUri(destUri));
      const no = migrationRefusal(this.kind, dest?.kind ?? this.kind, name, opts.live !== false && d.active);
      if (no) throw no;
      return migration.start(this, name, destUri, opts);
    });
  }
  async jobStats(name: string, completed = false): Promise<JobStats> {
    return migration.jobStats(this, name, completed);
  }
  async abortJob(name: string): Promise<void> {
    return this.gate('job-abort', 'abortJob', async () => {
      this.sync();
      const d = this.dom(name);
      if (!d.job?.active) throw invalid('no job is active on the domain');
      migration.cancel(this, d, 'canceled by client');
    });
  }

  // ---- events, console, guest agent --------------------------------------------------------

  async onDomainEvent(listener: (e: DomainEvent) => void): Promise<Unsubscribe> {
    this.sync();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async openConsole(name: string, device?: string, _opts?: { force?: boolean }): Promise<Duplex> {
    this.sync();
    const d = this.dom(name);
    if (!d.active) throw notRunning();
    if (device !== undefined && device !== 'serial0' && device !== 'console0') throw failed(`cannot find character device ${device}`);
    // A second client takes the console over, as `virsh console --force` does.
    this.consoles.get(d)?.destroy();
    const s = openSimConsole(d, this.guest(name), this.node, () => this.clock.now());
    this.consoles.set(d, s);
    s.once('close', () => {
      if (this.consoles.get(d) === s) this.consoles.delete(d);
    });
    return s;
  }

  async guestAgentCommand(name: string, command: string, _timeoutSec?: number): Promise<string> {
    return this.gate('guest-agent', 'agentCommand', async () => {
      const now = this.sync();
      const d = this.dom(name);
      if (!d.active) throw notRunning();
      if (!d.current.guestAgent) throw agentUnavailable();
      if (d.state !== 'running') throw agentUnavailable('Guest agent not available for now');
      return answerAgentCommand(command, d, this.guest(name), now);
    });
  }

  /** Why the simulated guest agent does not answer (a VM without one, or not running); undefined when it does. */
  guestAgentDown(vmName: string): string | undefined {
    const d = this.dom(vmName);
    // A container's processes are read from the host (its init's namespaces under /proc): no agent in it is needed.
    if (this.kind === 'lxc') return d.state === 'running' ? undefined : `the simulated container '${vmName}' is ${d.state}; the host reads its processes while it runs`;
    if (!d.current.guestAgent) return `no guest agent in the simulated VM '${vmName}' (it was made without one)`;
    if (d.state !== 'running') return `the simulated VM '${vmName}' is ${d.state}; its guest agent answers while it runs`;
    return undefined;
  }

  /** Simulated guest data (processes, users, services...) for the agent's guest.* relay in demo mode. */
  guest(vmName: string): SimGuest {
    const d = this.dom(vmName);
    // The guest reads the host's current rates (CPU %, memory), so time is brought up to date first.
    if (!d.guest) d.guest = new SimGuest(d, this.guestClock, this.peers.guestPolicy);
    return d.guest;
  }
}
