/** vm.*: listing, details, stats history, lifecycle, definitions, resources, devices, snapshots, migration and cloning. */
import { method } from './method.js';
import { array, bool, double, int, opt, string } from './schema.js';
import { watchAnswer, watchView, cloneOptions, domainRef, migrateOptions, redefineResult, schedParams, scope, snapshot, undefineOptions, vmInfo, vmListFilter, vmRow, vmStats, xmlOptions } from './types.js';

export const vm = {
  watch: method({
    name: 'vm.watch',
    help:
      'The dashboard\'s view of this node, each tick: vm.watch(since[, view]) -> {agentStart, version, full, added, changed, removed, seenAt, live, top, vmsTotal, vmsRunning}. ' +
      'since = the version from the last answer (0 at first): added/changed/removed are the inventory changes since then (name, uuid, state, vcpus, memory, ...; full = everything, drop what you hold). ' +
      'view {all: bool, vms: [names], sort: cpuPct|memPct|diskBps|netBps, top: n} says which VMs\' live figures to send: every VM (its rows are on screen), the named ones, and the top n by the sort column. ' +
      'live: the figures as packed columns {keys, cpuPct, vcpuPct, memUsedKiB, diskRdBps, diskWrBps, netRxBps, netTxBps} (base64 of little-endian int32 keys and float32 figures; a key names a VM of the inventory). ' +
      'No libvirt call: served from the collector. vm.list stays for scripts. ' +
      'A figure the node\'s driver cannot give (memory in use, disk and network rates on the per-domain stats route of LXC and Xen) is NaN in its packed column, not 0.',
    params: [int, opt(watchView)],
    result: watchAnswer,
  }),
  attachDevice: method({
    name: 'vm.attachDevice',
    help: 'Adds a device (disk, interface, ...) from its XML: vm.attachDevice(name, deviceXml[, scope]) -> true. Optional last argument: a scope struct {live: boolean, config: boolean} (default: the current state, as libvirt decides).',
    params: [string, string, opt(scope)],
    result: bool,
    mutates: true,
  }),
  clone: method({
    name: 'vm.clone',
    help: 'Clones a stopped VM as a job: vm.clone(vm, newName[, {start: bool}]) -> job id (follow with job.get; the job has a clone struct {name, volumes [{target, pool, from, to, bytes, done}], shared, macs [{from, to}]}). Writable disks are copied into their own pools (names take the new VM\'s name), CD-ROMs and read-only or shareable disks are shared, every NIC gets a new MAC, libvirt gives the UUID. Refused (fault, nothing made) when the VM runs, the name is taken, a writable disk is not a pool volume, or a pool lacks the space. A failed clone removes the copies it made; the source VM is never changed.',
    params: [string, string, opt(cloneOptions)],
    result: string,
    mutates: true,
  }),
  define: method({
    name: 'vm.define',
    help: 'Defines a persistent VM from domain XML (libvirt validates it): vm.define(xml) -> {name, uuid, id}.',
    params: [string],
    result: domainRef,
    mutates: true,
  }),
  destroy: method({
    name: 'vm.destroy',
    help: 'Stops the VM at once (power off); the definition stays. vm.destroy(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  detachDevice: method({
    name: 'vm.detachDevice',
    help: 'Removes the device the XML describes: vm.detachDevice(name, deviceXml[, scope]) -> true. Optional last argument: a scope struct {live: boolean, config: boolean} (default: the current state, as libvirt decides).',
    params: [string, string, opt(scope)],
    result: bool,
    mutates: true,
  }),
  info: method({
    name: 'vm.info',
    help: 'One VM: libvirt\'s domain info (state, id, vcpus, memKiB, maxMemKiB, cpuTimeNs, persistent, autostart), a summary of its XML (disks, interfaces, graphics, consoles, channels, type, arch) and its latest figures (as in vm.list).',
    params: [string],
    result: vmInfo,
  }),
  list: method({
    name: 'vm.list',
    help: 'Every VM on this node with its latest figures from the last collection: name, uuid, state, reason, vcpus, maxVcpus, memKiB, maxMemKiB, memUsedKiB, cpuTimeNs, cpuPct, vcpuPct, diskRdBps, diskWrBps, netRxBps, netTxBps, seenAt (ms since the epoch), and when known id, persistent, autostart. Optional struct {active: bool, inactive: bool} filters by state. No libvirt call: served from the collector (while libvirt is down: fault 1001 saying since when, so a broken node never looks empty; seenAt tells how old the figures are). Numbers beyond 32 bits (cpuTimeNs, byte counts) travel as <double>, exact up to 2^53. memUsedKiB, diskRdBps, diskWrBps, netRxBps and netTxBps are absent, not 0, where the node\'s driver cannot give them (the per-domain stats route of LXC and Xen).',
    params: [opt(vmListFilter)],
    result: array(vmRow),
  }),
  migrate: method({
    name: 'vm.migrate',
    help: 'Starts a peer-to-peer live migration of a VM to another node\'s libvirt URI (e.g. qemu+tcp://127.0.0.3/system): vm.migrate(name, destUri[, options]) -> job id. Options: live (default true), persistOnTarget (default true), undefineSource (default true), copyStorage, bandwidthMiBs, migrateUri, maxDowntimeMs. Follow it with job.get(id); job.cancel(id) aborts it. A failed or cancelled migration leaves the VM running here, and the job says why. ' +
      'Local disks: copyStorage absent = the agent decides per disk: a disk whose folder is a pool of the target holding a file of its name is shared; a disk whose folder is a target pool without it is copied by libvirt (a volume of the same name, format and size is created there first); no target pool at the folder, or too little room, is a refusal (fault, nothing started) naming the node, the disk and what to do; a target whose pools cannot be read is migrated without a copy (libvirt refuses what is not shared). copyStorage true = the same, but an unreadable target is a refusal; false = no copy, the disks are taken to be shared. A failed or cancelled migration removes the volumes it created (job.get\'s storage.removed, or storage.leftover with the error).',
    params: [string, string, opt(migrateOptions)],
    result: string,
    mutates: true,
  }),
  reboot: method({
    name: 'vm.reboot',
    help: 'Asks the guest OS to reboot. vm.reboot(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  reset: method({
    name: 'vm.reset',
    help: 'Resets a running VM at once, like its reset button: the guest OS is not asked (vm.reboot asks it). vm.reset(name) -> true. A driver without it refuses, naming the driver.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  redefine: method({
    name: 'vm.redefine',
    help: 'Replaces a VM\'s definition with edited XML: vm.redefine(name, xml) -> {name, uuid, appliesAtNextBoot}. libvirt validates the XML first; when it refuses, the old definition stays and the fault carries libvirt\'s message. The XML must keep the VM\'s name and uuid. A running VM keeps its live configuration until it is next started.',
    params: [string, string],
    result: redefineResult,
    mutates: true,
  }),
  resume: method({
    name: 'vm.resume',
    help: 'Resumes a paused VM. vm.resume(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  schedinfo: method({
    name: 'vm.schedinfo',
    help: 'Scheduler parameters by libvirt\'s names (cpuShares, vcpuPeriod, vcpuQuota, ...): vm.schedinfo(name) -> struct.',
    params: [string],
    result: schedParams,
  }),
  setAutostart: method({
    name: 'vm.setAutostart',
    help: 'Starts the VM when the node boots, or not: vm.setAutostart(name, on) -> true.',
    params: [string, bool],
    result: bool,
    mutates: true,
  }),
  setMaxMemory: method({
    name: 'vm.setMaxMemory',
    help: 'Sets the maximum memory in KiB (persistent definition): vm.setMaxMemory(name, kib) -> true.',
    params: [string, double],
    result: bool,
    mutates: true,
  }),
  setMemory: method({
    name: 'vm.setMemory',
    help: 'Sets the memory (balloon target) in KiB: vm.setMemory(name, kib[, scope]) -> true. Use a <double> for sizes above 2^31 KiB. Optional last argument: a scope struct {live: boolean, config: boolean} (default: the current state, as libvirt decides).',
    params: [string, double, opt(scope)],
    result: bool,
    mutates: true,
  }),
  setSchedinfo: method({
    name: 'vm.setSchedinfo',
    help: 'Sets scheduler parameters: vm.setSchedinfo(name, {cpuShares: n, vcpuQuota: n, ...}[, scope]) -> true. Optional last argument: a scope struct {live: boolean, config: boolean} (default: the current state, as libvirt decides).',
    params: [string, schedParams, opt(scope)],
    result: bool,
    mutates: true,
  }),
  setVcpus: method({
    name: 'vm.setVcpus',
    help: 'Sets the number of vCPUs: vm.setVcpus(name, count[, scope]) -> true. Optional last argument: a scope struct {live: boolean, config: boolean} (default: the current state, as libvirt decides).',
    params: [string, int, opt(scope)],
    result: bool,
    mutates: true,
  }),
  shutdown: method({
    name: 'vm.shutdown',
    help: 'Asks the guest OS to shut down (ACPI); returns at once, the state change follows as an event. vm.shutdown(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  snapshotCreate: method({
    name: 'vm.snapshot.create',
    help: 'Takes a snapshot: vm.snapshot.create(name[, snapshotNameOrXml]) -> the snapshot name. The second argument is either a name (the agent writes the <domainsnapshot> XML) or full snapshot XML starting with "<". Without it libvirt picks a name.',
    params: [string, opt(string)],
    result: string,
    mutates: true,
  }),
  snapshotCurrent: method({
    name: 'vm.snapshot.current',
    help: 'The name of the VM\'s current snapshot, or "" when it has none.',
    params: [string],
    result: string,
  }),
  snapshotDelete: method({
    name: 'vm.snapshot.delete',
    help: 'Deletes a snapshot: vm.snapshot.delete(name, snapshot) -> true.',
    params: [string, string],
    result: bool,
    mutates: true,
  }),
  snapshotList: method({
    name: 'vm.snapshot.list',
    help: 'The VM\'s snapshots: [{name, creationTime (s since the epoch), state, parent, current, description}].',
    params: [string],
    result: array(snapshot),
  }),
  snapshotRevert: method({
    name: 'vm.snapshot.revert',
    help: 'Reverts the VM to a snapshot: vm.snapshot.revert(name, snapshot) -> true.',
    params: [string, string],
    result: bool,
    mutates: true,
  }),
  start: method({
    name: 'vm.start',
    help: 'Starts a defined VM. vm.start(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  stats: method({
    name: 'vm.stats',
    help: 'History of one VM after a cursor: vm.stats(name, cursor[, limit]). Pass cursor 0 for the whole window (default one hour), then the returned cursor to get only newer samples. Result: {vm, cursor, intervalMs, t: [ms since the epoch], cpuPct: [...], vcpuPct, memUsedKiB, memKiB, diskRdBps, diskWrBps, netRxBps, netTxBps} (one array per field, same length as t). Per sample: cpuPct (% of the whole host), vcpuPct (% of the VM\'s own vCPUs), memUsedKiB (from balloon stats: available - unused; else the QEMU RSS), memKiB (balloon size), diskRdBps/diskWrBps/netRxBps/netTxBps (bytes per second). Large numbers travel as <double>. The memUsedKiB and rate arrays are left out where the node\'s driver cannot give those figures (the per-domain stats route of LXC and Xen), or when some sample of the answer lacks them.',
    params: [string, int, opt(int)],
    result: vmStats,
  }),
  suspend: method({
    name: 'vm.suspend',
    help: 'Pauses the VM\'s vCPUs (memory stays). vm.suspend(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  undefine: method({
    name: 'vm.undefine',
    help: 'Removes a VM\'s persistent definition (a running VM keeps running as transient): vm.undefine(name[, {snapshots: bool, nvram: bool}]) -> true.',
    params: [string, opt(undefineOptions)],
    result: bool,
    mutates: true,
  }),
  updateDevice: method({
    name: 'vm.updateDevice',
    help: 'Changes a device in place (e.g. a CD-ROM medium, a link state): vm.updateDevice(name, deviceXml[, scope]) -> true. Optional last argument: a scope struct {live: boolean, config: boolean} (default: the current state, as libvirt decides).',
    params: [string, string, opt(scope)],
    result: bool,
    mutates: true,
  }),
  xml: method({
    name: 'vm.xml',
    help: 'The domain XML: vm.xml(name[, {inactive: bool, secure: bool}]). inactive = the persistent definition rather than the running one.',
    params: [string, opt(xmlOptions)],
    result: string,
  }),
};
