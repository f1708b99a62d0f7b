/**
 * The agent's wire shapes, each declared once. The agent builds its answers to
 * these types, the clients read them through them, and the contract test checks
 * every answer of the simulated agent against them.
 */
import { any, array, base64, bool, dateTime, double, extend, int, literal, opt, record, string, struct, union, type Infer } from './schema.js';

export const VM_STATES = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'] as const;
export const vmState = literal(...VM_STATES);
export type VmState = Infer<typeof vmState>;

/** Bytes, KiB, nanoseconds: integral but beyond 32 bits, so typed as any number (<double> on the wire). */
const big = double;
const optStr = opt(string);
const optNum = opt(double);
const optInt = opt(int);
const optBool = opt(bool);
/** A time a guest reports: a dateTime from our guest agent, ISO text from others. */
const when = union(dateTime, string);

// ---- VMs -------------------------------------------------------------------

/**
 * The figures of one collection, as vm.list and the watch carry them. Memory in use and the
 * disk and network rates are absent (not zero) where the node's driver cannot give them: the
 * per-domain stats route of LXC and Xen has no balloon detail, block or interface stats.
 */
export const vmFigures = struct({
  memUsedKiB: opt(big),
  cpuTimeNs: big,
  /** % of the whole host. */
  cpuPct: double,
  /** % of the VM's own vCPUs. */
  vcpuPct: double,
  diskRdBps: opt(big),
  diskWrBps: opt(big),
  netRxBps: opt(big),
  netTxBps: opt(big),
  /** When the agent collected these figures (ms since the epoch). */
  seenAt: big,
});

/** One row of vm.list. */
export const vmRow = extend(vmFigures, {
  name: string,
  uuid: string,
  state: vmState,
  reason: int,
  vcpus: int,
  maxVcpus: int,
  memKiB: big,
  maxMemKiB: big,
  id: optInt,
  persistent: optBool,
  autostart: optBool,
});
export type VmRow = Infer<typeof vmRow>;

export const vmListFilter = struct({ active: optBool, inactive: optBool });
export type VmListFilter = Infer<typeof vmListFilter>;

// ---- the dashboard's watch (vm.watch) ----------------------------------------

/** What the dashboard shows of a node's VMs this tick. */
export const WATCH_SORTS = ['cpuPct', 'memPct', 'diskBps', 'netBps'] as const;
export const watchView = struct({
  /** Figures of every VM of the node (its rows are on screen). */
  all: optBool,
  /** Figures of these VMs (a detail view, marked rows). */
  vms: opt(array(string)),
  /** Figures of the node's top rows by this column (the table is sorted by it). */
  sort: opt(literal(...WATCH_SORTS)),
  /** How many top rows (default 50, at most 1000). */
  top: optInt,
});
export type WatchView = Infer<typeof watchView>;

/** A VM's inventory: what changes on a state or configuration change, not every collection. */
export const vmInventory = struct({
  /** The agent's number for this VM while the agent runs: the live columns refer to it. */
  key: int,
  name: string,
  uuid: string,
  state: vmState,
  reason: int,
  vcpus: int,
  maxVcpus: int,
  memKiB: big,
  maxMemKiB: big,
  id: optInt,
  persistent: optBool,
  autostart: optBool,
});
export type VmInventory = Infer<typeof vmInventory>;

/** The watched VMs' latest figures as packed columns (little-endian; keys int32, figures float32), same length each. */
export const packedFigures = struct({
  keys: base64,
  cpuPct: base64,
  vcpuPct: base64,
  memUsedKiB: base64,
  diskRdBps: base64,
  diskWrBps: base64,
  netRxBps: base64,
  netTxBps: base64,
});
export type PackedFigures = Infer<typeof packedFigures>;

export const watchAnswer = struct({
  /** Changes when the agent restarted: start again from version 0. */
  agentStart: big,
  /** The inventory version now: pass it as `since` next time. */
  version: int,
  /** True when `added` is the whole inventory (since was 0, too old, or from another agent start): drop what you hold. */
  full: bool,
  added: array(vmInventory),
  changed: array(vmInventory),
  removed: array(string),
  /** When the figures were collected (ms since the epoch). */
  seenAt: big,
  live: packedFigures,
  /** Keys of the node's top rows by view.sort, best first (empty without a sort). */
  top: array(int),
  vmsTotal: int,
  vmsRunning: int,
});
export type WatchAnswer = Infer<typeof watchAnswer>;

/** libvirt's domain info. */
export const domainInfo = struct({
  name: string,
  uuid: string,
  id: int,
  state: vmState,
  maxMemKiB: big,
  memKiB: big,
  vcpus: int,
  cpuTimeNs: big,
  persistent: bool,
  autostart: bool,
});
export type DomainInfo = Infer<typeof domainInfo>;

const diskSummary = struct({ device: optStr, type: optStr, target: optStr, bus: optStr, source: optStr, format: optStr, readonly: optInt, pool: optStr });
const nicSummary = struct({ type: optStr, mac: optStr, source: optStr, target: optStr, model: optStr });
const graphicsSummary = struct({ type: optStr, port: optInt, listen: optStr, autoport: optStr });
const consoleSummary = struct({ type: optStr, tty: optStr, target: optStr });
const channelSummary = struct({ type: optStr, name: optStr, path: optStr, state: optStr });

/** What the agent reads from a VM's domain XML. */
export const domainSummary = struct({
  disks: array(diskSummary),
  interfaces: array(nicSummary),
  graphics: array(graphicsSummary),
  consoles: array(consoleSummary),
  channels: array(channelSummary),
  type: optStr,
  title: optStr,
  description: optStr,
  osType: optStr,
  arch: optStr,
});
export type DomainSummary = Infer<typeof domainSummary>;

export const vmInfo = extend(domainInfo, { xml: opt(domainSummary), latest: opt(vmRow) });
export type VmInfo = Infer<typeof vmInfo>;

/** Columnar history of one VM (one array per field, same length as t). */
export const vmStats = struct({
  vm: string,
  cursor: int,
  intervalMs: int,
  t: array(big),
  cpuPct: array(double),
  vcpuPct: array(double),
  /** Absent where the driver cannot give the figure (see vmFigures). */
  memUsedKiB: opt(array(big)),
  memKiB: array(big),
  diskRdBps: opt(array(big)),
  diskWrBps: opt(array(big)),
  netRxBps: opt(array(big)),
  netTxBps: opt(array(big)),
});
export type VmStats = Infer<typeof vmStats>;

export const xmlOptions = struct({ inactive: optBool, secure: optBool });
export const undefineOptions = struct({ snapshots: optBool, nvram: optBool });
export const scope = struct({ live: optBool, config: optBool });
export type Scope = Infer<typeof scope>;
export const domainRef = struct({ name: string, uuid: string, id: int });
export type DomainRef = Infer<typeof domainRef>;
export const redefineResult = struct({ name: string, uuid: string, appliesAtNextBoot: bool });
/** Scheduler parameters by libvirt's names (cpuShares, vcpuQuota, ...). */
export const schedParams = record(double);

export const snapshot = struct({ name: string, creationTime: optNum, state: optStr, parent: optStr, current: bool, description: optStr });
export type Snapshot = Infer<typeof snapshot>;

export const migrateOptions = struct({
  live: optBool,
  persistOnTarget: optBool,
  undefineSource: optBool,
  copyStorage: optBool,
  bandwidthMiBs: optNum,
  migrateUri: optStr,
  maxDowntimeMs: optNum,
});
export type MigrateOptions = Infer<typeof migrateOptions>;
export const cloneOptions = struct({ start: optBool });

// ---- node ------------------------------------------------------------------

export const hardware = struct({ model: string, memoryKiB: big, cpus: int, mhz: int, numaNodes: int, sockets: int, cores: int, threads: int });

/** What the node's driver was found to support (src/libvirt/capabilities.ts): learned from libvirt's NO_SUPPORT answers, unknown until tried. */
export const driverCapabilities = struct({
  bulkStats: optBool,
  bulkNowait: optBool,
  statsRoute: opt(literal('bulk', 'per-domain')),
  /** Operations the driver refused, with libvirt's message. */
  unsupported: record(string),
});
export type DriverCapabilitiesWire = Infer<typeof driverCapabilities>;

export const nodeInfo = struct({
  libvirt: struct({ up: bool, since: big, attempts: int, reason: optStr, nextRetryAt: optNum }),
  agent: struct({
    version: string,
    startedAt: big,
    pollMs: int,
    historySeconds: int,
    readOnly: bool,
    collections: int,
    dropped: int,
    errors: int,
    lastCollectMs: double,
    vms: int,
    historyBytes: big,
    lastError: optStr,
  }),
  capacity: struct({ vmsTotal: int, vmsRunning: int, vcpusAllocated: int, memAllocatedKiB: big, memTotalKiB: optNum, memFreeKiB: optNum, cpuPct: optNum }),
  // Host facts: absent until libvirt has been reached once.
  hostname: optStr,
  uri: optStr,
  driver: optStr,
  hypervisorVersion: optStr,
  libvirtVersion: optStr,
  simulated: optBool,
  node: opt(hardware),
  capabilities: opt(driverCapabilities),
});
export type NodeInfo = Infer<typeof nodeInfo>;

export const nodeCounters = struct({
  cpu: struct({ kernelNs: big, userNs: big, idleNs: big, iowaitNs: big }),
  memory: struct({ totalKiB: big, freeKiB: big, buffersKiB: big, cachedKiB: big }),
});

export const nodeStats = struct({
  cursor: int,
  intervalMs: int,
  t: array(big),
  cpuPct: array(double),
  iowaitPct: array(double),
  memUsedKiB: array(big),
  memTotalKiB: array(big),
  vmsRunning: array(double),
  vmCpuPct: array(double),
  collectMs: array(double),
  latest: opt(nodeCounters),
});
export type NodeStats = Infer<typeof nodeStats>;

// ---- jobs and events --------------------------------------------------------

export const jobStatus = literal('running', 'completed', 'failed', 'cancelled');
export type JobStatus = Infer<typeof jobStatus>;

export const jobProgress = struct({
  type: string,
  dataTotal: optNum,
  dataProcessed: optNum,
  dataRemaining: optNum,
  memTotal: optNum,
  memProcessed: optNum,
  memRemaining: optNum,
  memIteration: optNum,
  memDirtyRate: optNum,
  memBps: optNum,
  expectedDowntimeMs: optNum,
  timeElapsedMs: optNum,
  timeRemainingMs: optNum,
  diskTotal: optNum,
  diskProcessed: optNum,
  diskRemaining: optNum,
  percent: optNum,
  at: optNum,
});
export type JobProgress = Infer<typeof jobProgress>;

export const cloneProgress = struct({
  name: string,
  volumes: array(struct({ target: string, pool: string, from: string, to: string, bytes: big, done: bool })),
  shared: array(string),
  macs: array(struct({ from: string, to: string })),
  start: bool,
});

/** A provisioning job's own state (vm.provision): the steps in order, what each made, and the step that failed. */
export const provisionStep = literal('disk', 'seed', 'define', 'start');
export const provisionProgress = struct({
  name: string,
  template: string,
  steps: array(struct({ step: provisionStep, done: bool, detail: optStr })),
  /** An overlay names its backing file; a full copy the template volume it was copied from. */
  disk: struct({ pool: string, volume: string, backing: optStr, copiedFrom: optStr, capacity: big }),
  seed: struct({ pool: string, volume: string, tool: optStr }),
  start: bool,
  failedStep: opt(provisionStep),
});

/** A migration's disks (vm.migrate with local disks): what libvirt copies, the target volumes made first, and what a failure removed. */
export const migrationVolume = struct({ pool: string, volume: string, path: optStr });
export const migrationStorage = struct({
  mode: literal('copy', 'shared', 'trusted', 'unplanned'),
  note: optStr,
  disks: array(struct({
    target: string,
    path: optStr,
    action: literal('copy', 'shared', 'not-copied'),
    why: string,
    pool: optStr,
    volume: optStr,
    format: optStr,
    capacity: optNum,
    bytes: optNum,
  })),
  created: array(migrationVolume),
  removed: array(migrationVolume),
  leftover: array(struct({ pool: string, volume: string, path: optStr, error: string })),
});
export type MigrationStorageWire = Infer<typeof migrationStorage>;

/**
 * node.migrationStorage: what a planner needs to cost moving this node's VMs and to place
 * VMs arriving here, by vm.migrate's per-disk rule (src/common/migrate-storage.ts). Disk
 * sizes are absent, not 0, when neither a pool nor the VM's block stats give them.
 */
export const migrationStorageView = struct({
  /** This node's running pools as a migration target: a disk whose folder is one of them and whose file it holds is shared. */
  pools: array(struct({ name: string, type: optStr, path: optStr, available: big, volumes: array(string) })),
  vms: array(struct({
    name: string,
    /** <domain type=...>: libvirt copies storage only for qemu and kvm guests. */
    domainType: optStr,
    disks: array(struct({
      target: string,
      device: string,
      type: string,
      path: optStr,
      pool: optStr,
      volume: optStr,
      format: optStr,
      shared: bool,
      hasBacking: bool,
      capacity: optNum,
      allocation: optNum,
    })),
  })),
  /** VMs whose definition the agent has not read (yet, or it failed): their disks are unknown. */
  unknown: array(string),
});
export type MigrationStorageView = Infer<typeof migrationStorageView>;

export const jobInfo = struct({
  id: string,
  kind: literal('migrate', 'clone', 'provision'),
  vm: string,
  /** Migration: the destination URI. Clone: the new VM's name. */
  dest: string,
  status: jobStatus,
  startedAt: big,
  elapsedMs: big,
  cancelRequested: bool,
  /** Found running in libvirt after an agent restart (the migration was started before it). */
  adopted: opt(bool),
  caller: string,
  options: record(any),
  endedAt: optNum,
  reason: optStr,
  vmStateOnSource: optStr,
  clone: opt(cloneProgress),
  provision: opt(provisionProgress),
  progress: opt(jobProgress),
  storage: opt(migrationStorage),
});
export type Job = Infer<typeof jobInfo>;

export const eventSource = literal('domain', 'vm', 'job', 'libvirt', 'storage', 'network', 'balancer', 'guest', 'audit', 'history', 'lease');
export const agentEvent = struct({
  seq: int,
  at: big,
  source: eventSource,
  kind: string,
  vm: optStr,
  /** What happened, by field: a struct (uuid, reason, job id, ...), never text. */
  detail: record(any),
});
export type AgentEvent = Infer<typeof agentEvent>;

export const eventsPage = struct({
  cursor: int,
  events: array(agentEvent),
  missed: bool,
  agentStart: big,
  /** The poll returned early because one of the node's VMs passed the wake's figure (see rankWake). */
  ranked: optBool,
});
export type EventsPage = Infer<typeof eventsPage>;

/**
 * A dashboard sorted by a figure asks a node none of whose rows it shows to answer its
 * long-poll early once one of its running VMs passes `above` (the figure of the last row
 * on screen): the node is then asked for its top rows, instead of every few ticks.
 * Units as vm.watch's sort: cpuPct percent of the host, memPct a fraction (0..1), diskBps and netBps bytes/s.
 */
export const rankWake = struct({ sort: literal(...WATCH_SORTS), above: double });
export type RankWake = Infer<typeof rankWake>;

// ---- storage and networks ---------------------------------------------------

export const pool = struct({
  name: string,
  uuid: string,
  state: literal('inactive', 'building', 'running', 'degraded', 'inaccessible'),
  capacity: big,
  allocation: big,
  available: big,
  autostart: bool,
  persistent: bool,
  type: optStr,
  path: optStr,
});
export type Pool = Infer<typeof pool>;

export const volume = struct({
  name: string,
  key: string,
  path: string,
  type: literal('file', 'block', 'dir', 'network', 'netdir', 'ploop'),
  capacity: big,
  allocation: big,
  format: optStr,
  /** The VMs whose definition uses this volume (by path, or by pool and volume name), from the agent's cached domain XML. */
  usedBy: opt(array(string)),
});
export type Volume = Infer<typeof volume>;

export const networkInfo = struct({
  name: string,
  uuid: string,
  active: bool,
  persistent: bool,
  autostart: bool,
  bridge: optStr,
  ipAddress: optStr,
  netmask: optStr,
  dhcpStart: optStr,
  dhcpEnd: optStr,
  /** The VMs with an interface on this network, from the agent's cached domain XML. */
  usedBy: opt(array(string)),
});
export type Network = Infer<typeof networkInfo>;

// ---- guests (relayed from the agent inside the VM: every field may be missing) --

/** Marks on every guest answer: made up by the simulator, or answered by qemu-guest-agent (source) rather than ours. */
const guestMark = { simulated: optBool, source: optStr };

export const guestStatus = struct({
  vm: string,
  agent: string,
  /** Text when no agent answers; our guest agent's ping answer when it does. */
  detail: opt(any),
  code: optInt,
  channel: optStr,
  ...guestMark,
});
export type GuestStatus = Infer<typeof guestStatus>;

export const guestPing = struct({ agent: string, version: optStr, pid: optInt, hostname: optStr, ...guestMark });

export const guestInfo = struct({
  hostname: optStr,
  os: opt(struct({ id: optStr, name: optStr, version: optStr, prettyName: optStr, kernelRelease: optStr, kernelVersion: optStr, machine: optStr })),
  kernel: optStr,
  uptimeSec: optNum,
  bootTime: opt(when),
  load: opt(struct({ load1: double, load5: double, load15: double, running: optInt, total: optInt })),
  cpus: optInt,
  memory: opt(struct({ totalKiB: optNum, freeKiB: optNum, availableKiB: optNum, buffersKiB: optNum, cachedKiB: optNum, swapTotalKiB: optNum, swapFreeKiB: optNum })),
  machine: optStr,
  agentVersion: optStr,
  time: opt(when),
  ...guestMark,
});
export type GuestInfo = Infer<typeof guestInfo>;

export const guestProcess = struct({
  pid: int,
  ppid: optInt,
  /** The pid on the host, when the node agent read the process from the host's /proc (an LXC container). */
  hostPid: optInt,
  user: optStr,
  uid: optInt,
  state: optStr,
  cpuPercent: optNum,
  rssKiB: optNum,
  threads: optInt,
  nice: optInt,
  startTime: opt(when),
  name: optStr,
  command: optStr,
});
export type GuestProcess = Infer<typeof guestProcess>;
/** initPid: the LXC container's init on the host, when the node agent read its processes from the host's /proc. */
export const guestProcesses = struct({ count: optInt, cpuIntervalMs: optInt, sampleMs: optNum, initPid: optInt, processes: array(guestProcess), ...guestMark });
export const processOptions = struct({ intervalMs: optInt });

export const guestUser = struct({
  name: string,
  // qemu-guest-agent knows only who is logged in: the account fields are ours.
  uid: optInt,
  gid: optInt,
  gecos: optStr,
  home: optStr,
  shell: optStr,
  groups: opt(array(string)),
  adminVia: opt(array(string)),
  admin: optBool,
  password: optStr,
  loggedIn: optBool,
  loginTime: opt(when),
  system: optBool,
});
export type GuestUser = Infer<typeof guestUser>;
export const guestGroup = struct({ name: string, gid: int, members: array(string) });
export type GuestGroup = Infer<typeof guestGroup>;
export const guestUsers = struct({ users: array(guestUser), groups: array(guestGroup), partial: optBool, ...guestMark });

/** host: where our agent says the session comes from; domain: the Windows domain qemu-guest-agent reports. */
export const guestSession = struct({ user: string, line: optStr, host: optStr, domain: optStr, pid: optInt, loginTime: opt(when), ...guestMark });
export type GuestSession = Infer<typeof guestSession>;

export const guestService = struct({ name: string, state: string, enabled: optStr, description: optStr });
export type GuestService = Infer<typeof guestService>;
export const guestServices = struct({ init: string, services: array(guestService), ...guestMark });

export const guestFilesystem = struct({
  device: optStr,
  mountPoint: string,
  fsType: optStr,
  readOnly: optBool,
  totalBytes: optNum,
  freeBytes: optNum,
  availableBytes: optNum,
  usedBytes: optNum,
  files: optNum,
  filesFree: optNum,
  ...guestMark,
});
export type GuestFilesystem = Infer<typeof guestFilesystem>;

export const guestAddress = struct({ family: optStr, address: optStr, netmask: optStr, cidr: optStr, prefix: optInt });
export const guestInterface = struct({ name: string, mac: optStr, mtu: optInt, state: optStr, rxBytes: optNum, txBytes: optNum, addresses: array(guestAddress), ...guestMark });
export type GuestInterface = Infer<typeof guestInterface>;

export const guestPolicy = struct({ allow: array(string), protectedUsers: opt(array(string)), actions: opt(array(string)), ...guestMark });
export type GuestPolicy = Infer<typeof guestPolicy>;

export const userAddOptions = struct({ uid: optInt, shell: optStr, home: optStr, gecos: optStr, groups: opt(array(string)), password: optStr });
/** What a guest action answers: at least whether it happened. */
export const guestActionResult = record(any);

// ---- level-1 balancer --------------------------------------------------------

export const level1Decision = struct({ vm: string, shares: int, entitledCores: double, reason: string, balloonKiB: optNum, quotaUs: optNum });
export const level1Plan = struct({ contended: bool, pressure: bool, freeShare: double, decisions: array(level1Decision) });
export type Level1Plan = Infer<typeof level1Plan>;
export const level1Status = struct({
  enabled: bool,
  ticks: int,
  applied: int,
  caps: bool,
  pressureFree: double,
  memBudgetKiB: optNum,
  errors: array(struct({ vm: string, error: string, at: dateTime })),
  lastTick: opt(dateTime),
  last: opt(level1Plan),
});
export type Level1Status = Infer<typeof level1Status>;
export const level1Settings = record(any);
