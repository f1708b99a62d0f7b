/**
 * What this connection's driver can do, learned from libvirt itself: a call the driver
 * lacks fails with VIR_ERR_NO_SUPPORT, and that answer (not a table of driver names) is
 * what is recorded. Learned on first use after connect and again after every reconnect
 * (the daemon behind the URI may have changed). Unknown until tried.
 */
import { ErrorCode, LibvirtError } from './errors.js';
import type { BlockStats, DomainInfo, DomainMemoryStats, DomainRef, DomainStats, Hypervisor, InterfaceStats } from './hypervisor.js';
import { tagAttr } from './procedures/xml.js';

export interface DriverCapabilities {
  /** virConnectGetAllDomainStats: one call for every VM. */
  bulkStats?: boolean;
  /** Its NOWAIT flag (skip VMs whose job lock is held). */
  bulkNowait?: boolean;
  /**
   * How the last stats were read: 'bulk' or 'per-domain' (virDomainGetInfo per VM, and for a running
   * one the memory, interface and block stats calls the driver has, all issued concurrently).
   */
  statsRoute?: 'bulk' | 'per-domain';
  /** Operations libvirt refused with NO_SUPPORT, by the agent's name for them, with libvirt's message. */
  unsupported: Record<string, string>;
}

/** libvirt's "this function is not supported by the connection driver" (or an unsupported flag). */
export function isNoSupport(e: unknown): boolean {
  return e instanceof LibvirtError && (e.code === ErrorCode.NO_SUPPORT || e.code === ErrorCode.OPERATION_UNSUPPORTED);
}

function isUnsupportedFlag(e: unknown): boolean {
  return e instanceof LibvirtError && e.code === ErrorCode.INVALID_ARG && /flag/i.test(e.message);
}

/**
 * Capabilities the caller can ask libvirt about before trying (virConnectSupportsFeature,
 * the VIR_DRV_FEATURE_* answers of the driver itself). The agent migrates peer to peer.
 */
export type DriverFeatureName = 'migration-p2p' | 'migration-offline';
/** A Hypervisor that can answer virConnectSupportsFeature (the libvirt client; the simulator's kinds). */
export interface FeatureProbe {
  driverSupports(feature: DriverFeatureName): Promise<boolean>;
}
function canProbe(hv: Hypervisor): hv is Hypervisor & FeatureProbe {
  return typeof (hv as Partial<FeatureProbe>).driverSupports === 'function';
}

/** The per-domain stats calls, by the name their refusal is recorded under in `unsupported`. */
type PerDomainCall = 'memory-stats' | 'interface-stats' | 'block-stats';

/** What a running VM's per-domain extras need from its live XML: read once per run (its id), not per poll. */
interface Devices {
  id: number;
  /** Interfaces by host-side device (target dev), or MAC where the XML names none. */
  nics: string[];
  /** Disk targets; none means block stats are asked for the whole VM (''), as LXC answers from its cgroup. */
  disks: string[];
}

interface State {
  caps: DriverCapabilities;
  /** Per-domain calls the driver refused with NO_SUPPORT: not asked again until reconnect. */
  refused: Set<PerDomainCall>;
  /**
   * By UUID. Read again when the VM restarts (new id), when a call on a device fails (detached),
   * and for one running VM per poll in turn, so a device hot-plugged into a running VM is counted
   * within one pass over the VMs (and a poll) at the cost of one XML read per poll.
   */
  devices: Map<string, Devices>;
  /** Where that turn is. */
  sweep: number;
  /** The one probe of this connection (features asked, snapshots tried once a VM exists). */
  probed?: Promise<void>;
  snapshotsProbed?: boolean;
}

// A symbol on the Hypervisor object, not a WeakMap: the agent hands out a Proxy of it (timeouts),
// and the client's own guarded calls see the target; a property is the same through both.
const STATE = Symbol('vem.driverCapabilities');
type Holder = { [STATE]?: State };

function stateOf(hv: Hypervisor): State {
  const h = hv as Hypervisor & Holder;
  let s = h[STATE];
  if (!s) {
    s = { caps: { unsupported: {} }, refused: new Set(), devices: new Map(), sweep: 0 };
    h[STATE] = s;
    const ev = hv as Partial<{ on(ev: string, fn: () => void): unknown }>;
    if (typeof ev.on === 'function') ev.on.call(hv, 'reconnect', () => delete (hv as Hypervisor & Holder)[STATE]);
  }
  return s;
}

/** The capabilities record of one connection; forgotten when it reconnects. */
export function capabilitiesOf(hv: Hypervisor): DriverCapabilities {
  return stateOf(hv).caps;
}

/** Records that libvirt refused `op` on this connection (for node.info and refusals); the first reason stays. */
export function noteUnsupported(hv: Hypervisor, op: string, e: unknown): void {
  if (isNoSupport(e)) capabilitiesOf(hv).unsupported[op] ??= (e as Error).message;
}

/**
 * Asks the driver up front what it can do, so a client can grey an action before anyone tries it:
 * migration from virConnectSupportsFeature (peer to peer, offline), snapshots by listing one VM's
 * (a driver without them answers NO_SUPPORT). Once per connection; a failed question is left unknown.
 */
export async function probeCapabilities(hv: Hypervisor, someVm?: string): Promise<void> {
  const s = stateOf(hv);
  s.probed ??= (async () => {
    if (!canProbe(hv)) return;
    const [p2p, offline] = await Promise.all([
      hv.driverSupports('migration-p2p').catch(() => undefined),
      hv.driverSupports('migration-offline').catch(() => undefined),
    ]);
    const u = s.caps.unsupported;
    if (p2p === false) {
      u['migration'] ??= 'the driver reports no peer-to-peer migration (virConnectSupportsFeature)';
      u['offline-migration'] ??= u['migration'];
    } else if (offline === false) {
      u['offline-migration'] ??= 'the driver reports no offline migration (virConnectSupportsFeature)';
    }
  })();
  await s.probed;
  if (someVm !== undefined && !s.snapshotsProbed) {
    s.snapshotsProbed = true;
    await hv.snapshotList(someVm).catch((e: unknown) => noteUnsupported(hv, 'snapshots', e));
  }
}

/** A per-domain record, shaped as the bulk call's: the figures GetInfo gives; the rest absent, not zero. */
export function statsFromInfo(i: DomainInfo): DomainStats {
  const running = i.id >= 0;
  return {
    name: i.name,
    uuid: i.uuid,
    state: { state: i.state, reason: 0 },
    ...(running ? { cpu: { timeNs: i.cpuTimeNs } } : {}),
    balloon: { currentKiB: i.memKiB, maximumKiB: i.maxMemKiB },
    vcpu: { current: i.vcpus, maximum: i.vcpus, timesNs: [] },
    raw: {},
  };
}

/**
 * Every VM's stats by the fastest route the driver has: the bulk call (with NOWAIT where
 * accepted), else one list call and every VM's GetInfo issued at once, pipelined on the one
 * connection. A VM that vanishes between the list and its GetInfo is left out of this poll.
 */
export async function domainStats(hv: Hypervisor): Promise<DomainStats[]> {
  const st = stateOf(hv);
  const out = await statsByRoute(hv);
  if (!st.snapshotsProbed || !st.probed) await probeCapabilities(hv, out[0]?.name).catch(() => undefined);
  return out;
}

async function statsByRoute(hv: Hypervisor): Promise<DomainStats[]> {
  const c = capabilitiesOf(hv);
  if (c.bulkStats !== false) {
    try {
      const s = await hv.allDomainStats(c.bulkNowait === false ? {} : { nowait: true });
      c.bulkStats = true;
      c.bulkNowait ??= true;
      c.statsRoute = 'bulk';
      return s;
    } catch (e) {
      if (isUnsupportedFlag(e) && c.bulkNowait !== false) {
        c.bulkNowait = false;
        return statsByRoute(hv);
      }
      if (!isNoSupport(e)) throw e;
      c.bulkStats = false;
      c.unsupported['bulk-stats'] = (e as Error).message;
    }
  }
  c.statsRoute = 'per-domain';
  return perDomainStats(hv, stateOf(hv));
}

/** A domain gone between the list and its call (undefined, migrated away) is left out of this poll. */
function unlessGone<T>(e: unknown): T | undefined {
  if (e instanceof LibvirtError && e.code === ErrorCode.NO_DOMAIN) return undefined;
  throw e;
}

/**
 * One per-domain call for a figure beyond GetInfo's. NO_SUPPORT is learned for the connection (and
 * shown in node.info); any other failure (the VM stopped or went, a device it no longer has) leaves
 * the figure absent for this VM this poll, never the poll failed for a figure.
 */
async function extra<T>(hv: Hypervisor, st: State, call: PerDomainCall, fn: (() => Promise<T>) | undefined): Promise<T | undefined> {
  if (!fn || st.refused.has(call)) return undefined;
  try {
    return await fn();
  } catch (e) {
    if (isNoSupport(e)) {
      st.refused.add(call);
      noteUnsupported(hv, call, e);
    }
    return undefined;
  }
}

const INTERFACE = /<interface\b[\s\S]*?<\/interface>/g;
const DISK = /<disk\b[\s\S]*?<\/disk>/g;

/** The host-side interface names and disk targets of a live domain XML. */
export function devicesOfXml(xml: string, id: number): Devices {
  const nics: string[] = [];
  for (const m of xml.matchAll(INTERFACE)) {
    const dev = tagAttr(m[0], 'target', 'dev') ?? tagAttr(m[0], 'mac', 'address');
    if (dev) nics.push(dev);
  }
  const disks: string[] = [];
  for (const m of xml.matchAll(DISK)) {
    // An empty CD-ROM or floppy has no figures to give, and its failing call would cost the whole VM's.
    const dev = /<source\b/.test(m[0]) ? tagAttr(m[0], 'target', 'dev') : undefined;
    if (dev) disks.push(dev);
  }
  return { id, nics, disks };
}

async function devicesOf(hv: Hypervisor, st: State, r: DomainRef): Promise<Devices | undefined> {
  const known = st.devices.get(r.uuid);
  if (known && known.id === r.id) return known;
  const xml = await hv.domainXml(r.name).catch(() => undefined);
  if (xml === undefined) return undefined;
  const d = devicesOfXml(xml, r.id);
  st.devices.set(r.uuid, d);
  return d;
}

const counter = (v: number): number => (v > 0 ? v : 0); // -1: the driver has no such counter

/** Folds what the per-domain calls gave into the GetInfo record, shaped as the bulk call's. */
export function foldPerDomain(s: DomainStats, mem: DomainMemoryStats | undefined, net: Array<{ name: string; st: InterfaceStats }> | undefined, block: Array<{ name: string; st: BlockStats }> | undefined): DomainStats {
  if (mem && s.balloon) {
    const b = s.balloon;
    if (mem.actualKiB !== undefined) b.currentKiB = mem.actualKiB;
    if (mem.availableKiB !== undefined) b.availableKiB = mem.availableKiB;
    if (mem.unusedKiB !== undefined) b.unusedKiB = mem.unusedKiB;
    if (mem.usableKiB !== undefined) b.usableKiB = mem.usableKiB;
    if (mem.rssKiB !== undefined) b.rssKiB = mem.rssKiB;
  }
  if (net) {
    s.net = net.map(({ name, st: n }) => ({
      name, rxBytes: counter(n.rxBytes), rxPkts: counter(n.rxPkts), txBytes: counter(n.txBytes), txPkts: counter(n.txPkts),
      rxErrs: counter(n.rxErrs), txErrs: counter(n.txErrs), rxDrop: counter(n.rxDrop), txDrop: counter(n.txDrop),
    }));
  }
  // A record where the driver has neither byte counter says nothing about the disks: left absent.
  if (block && block.every((x) => x.st.rdBytes >= 0 || x.st.wrBytes >= 0)) {
    s.block = block.map(({ name, st: b }) => ({ name, rdBytes: counter(b.rdBytes), rdReqs: counter(b.rdReqs), wrBytes: counter(b.wrBytes), wrReqs: counter(b.wrReqs) }));
  }
  return s;
}

/** Every device's answer, or undefined when any one failed (a partial sum would be a wrong figure). */
async function eachDevice<T>(hv: Hypervisor, st: State, call: PerDomainCall, names: string[], fn: ((dev: string) => Promise<T>) | undefined): Promise<Array<{ name: string; st: T }> | undefined> {
  if (!fn || st.refused.has(call)) return undefined;
  const got = await Promise.all(names.map((n) => extra(hv, st, call, () => fn(n))));
  const out: Array<{ name: string; st: T }> = [];
  for (let i = 0; i < names.length; i++) {
    const g = got[i];
    if (g === undefined) return undefined;
    out.push({ name: names[i] as string, st: g });
  }
  return out;
}

async function oneDomain(hv: Hypervisor, st: State, r: DomainRef): Promise<DomainStats | undefined> {
  const info = hv.domainInfo(r.name).catch(unlessGone<DomainInfo>);
  if (r.id < 0) {
    const i = await info;
    return i && statsFromInfo(i);
  }
  // A running VM: its extras go out with its GetInfo, all pipelined on the one connection.
  const memFn = hv.domainMemoryStats?.bind(hv);
  const ifFn = hv.domainInterfaceStats?.bind(hv);
  const blkFn = hv.domainBlockStats?.bind(hv);
  const mem = extra(hv, st, 'memory-stats', memFn && (() => memFn(r.name)));
  const needDevices = (ifFn && !st.refused.has('interface-stats')) || (blkFn && !st.refused.has('block-stats'));
  const devs = needDevices ? devicesOf(hv, st, r) : Promise.resolve(undefined);
  const net = devs.then((d) => (d ? eachDevice(hv, st, 'interface-stats', d.nics, ifFn && ((dev) => ifFn(r.name, dev))) : undefined));
  const block = devs.then((d) => (d ? eachDevice(hv, st, 'block-stats', d.disks.length > 0 ? d.disks : [''], blkFn && ((dev) => blkFn(r.name, dev))) : undefined));
  const [i, m, n, b] = await Promise.all([info, mem, net, block]);
  if (!i) return undefined;
  const s = statsFromInfo(i);
  if (i.id < 0) return s; // stopped since the list: its extras (if any came) are not this record's
  // A named device's call that failed may mean the XML changed (detached): read it again next poll.
  // The whole-VM block total ('') names nothing, so its failing is no reason to re-read.
  const d = await devs;
  if (d && ((ifFn && !st.refused.has('interface-stats') && !n && d.nics.length > 0) || (blkFn && !st.refused.has('block-stats') && !b && d.disks.length > 0))) st.devices.delete(r.uuid);
  return foldPerDomain(s, m, n, b);
}

async function perDomainStats(hv: Hypervisor, st: State): Promise<DomainStats[]> {
  const refs = await hv.listDomains();
  // This poll's turn: its XML is read alongside the other calls, which still use the names known,
  // so the poll stays one wave; what it finds is used from the next poll.
  const turn = refs.length > 0 ? (refs[st.sweep++ % refs.length] as DomainRef) : undefined;
  const asked = (hv.domainInterfaceStats && !st.refused.has('interface-stats')) || (hv.domainBlockStats && !st.refused.has('block-stats'));
  const known = asked && turn && turn.id >= 0 ? st.devices.get(turn.uuid) : undefined;
  const reread = turn && known && known.id === turn.id
    ? hv.domainXml(turn.name).then((xml) => {
      if (st.devices.get(turn.uuid) === known) st.devices.set(turn.uuid, devicesOfXml(xml, turn.id));
    }, () => undefined)
    : undefined;
  const [recs] = await Promise.all([Promise.all(refs.map((r) => oneDomain(hv, st, r))), reread]);
  if (st.devices.size > refs.length) {
    const live = new Set(refs.map((r) => r.uuid));
    for (const u of st.devices.keys()) if (!live.has(u)) st.devices.delete(u);
  }
  const out: DomainStats[] = [];
  for (const s of recs) if (s) out.push(s);
  return out;
}

/** The agent's name for each guarded feature, and the words a refusal uses for it. */
export const featureLabels = {
  migration: 'live migration is',
  'offline-migration': 'migration is',
  snapshots: 'snapshots are',
  balloon: 'memory ballooning is',
  'max-memory': 'changing the maximum memory is',
  vcpus: 'changing vCPUs is',
  scheduler: 'scheduler parameters are',
  console: 'the console is',
  reset: 'a hard reset is',
  'volume-data': 'reading or writing a volume\'s data is',
  'guest-agent': 'guest-agent commands are',
  'dhcp-leases': 'DHCP lease lists are',
  pools: 'defining and starting storage pools is',
  'pool-build': 'building a storage pool is',
  // virDomainAbortJob: LXC has no job calls at all, libxl migrates but cannot abort one.
  'job-abort': 'cancelling a job is',
} as const;
export type Feature = keyof typeof featureLabels;

/**
 * Runs one call of `feature`; when libvirt answers NO_SUPPORT, records it (node.info shows it)
 * and throws a refusal naming the driver and node, since libvirt's own text says neither
 * ("snapshots are not supported by the LXC driver on n2 (...)"). Other errors pass unchanged.
 */
export async function guardFeature<T>(hv: Hypervisor, feature: Feature, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isNoSupport(e)) throw e;
    noteUnsupported(hv, feature, e);
    const le = e as LibvirtError;
    // hostInfo may itself fail (link gone): the refusal still stands, naming what it can.
    const h = await hv.hostInfo().catch(() => undefined);
    throw new LibvirtError(`${featureLabels[feature]} not supported by the ${h?.driver ?? 'connection'} driver on ${h?.hostname ?? 'this node'} (${le.message})`, le.code, le.domain);
  }
}
