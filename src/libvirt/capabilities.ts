/**
 * What this connection's driver can do, learned from libvirt itself: a call the driver
 * lacks fails with VIR_ERR_NO_SUPPORT, and that answer (not a table of driver names) is
 * what is recorded. Learned on first use after connect and again after every reconnect
 * (the daemon behind the URI may have changed). Unknown until tried.
 */
import { ErrorCode, LibvirtError } from './errors.js';
import type { DomainInfo, DomainStats, Hypervisor } from './hypervisor.js';

export interface DriverCapabilities {
  /** virConnectGetAllDomainStats: one call for every VM. */
  bulkStats?: boolean;
  /** Its NOWAIT flag (skip VMs whose job lock is held). */
  bulkNowait?: boolean;
  /** How the last stats were read: 'bulk' or 'per-domain' (virDomainGetInfo per VM, concurrently). */
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

interface State {
  caps: DriverCapabilities;
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
    s = { caps: { unsupported: {} } };
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
  const refs = await hv.listDomains();
  const infos = await Promise.all(refs.map((r) => hv.domainInfo(r.name).catch((e: unknown) => {
    if (e instanceof LibvirtError && e.code === ErrorCode.NO_DOMAIN) return undefined;
    throw e;
  })));
  const out: DomainStats[] = [];
  for (const i of infos) if (i) out.push(statsFromInfo(i));
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
