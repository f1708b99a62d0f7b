/** node.*: the host, its capacity and its history. */
import { method } from './method.js';
import { int, opt } from './schema.js';
import { migrationStorageView, nodeInfo, nodeStats } from './types.js';

export const node = {
  info: method({
    name: 'node.info',
    help: 'This node: hostname, uri, driver (QEMU, Test, Xen, LXC, Simulated...), hypervisorVersion, libvirtVersion, simulated, node {model, memoryKiB, cpus, mhz, numaNodes, sockets, cores, threads}, libvirt {up, since, reason, attempts, nextRetryAt} (the agent stays up while libvirtd is away and reconnects with backoff), capacity {vmsTotal, vmsRunning, vcpusAllocated, memAllocatedKiB, memTotalKiB, memFreeKiB, cpuPct} from the last collection, and agent {version, startedAt, pollMs, historySeconds, readOnly, collections, dropped, errors, lastCollectMs, vms, historyBytes}. Host facts are the last ones seen while libvirt is down. Fault codes: libvirt\'s own error code (e.g. 42 no such domain), 1001 libvirt unreachable, 1002 libvirt call timed out, 1003 not found, 1004 bad argument, -32601/-32602 unknown method/bad arguments.',
    params: [],
    result: nodeInfo,
  }),
  stats: method({
    name: 'node.stats',
    help: 'The node\'s history after a cursor: node.stats(cursor[, limit]); cursor 0 = the whole window. Result: {cursor, intervalMs, t: [ms since the epoch], cpuPct, iowaitPct, memUsedKiB, memTotalKiB, vmsRunning, vmCpuPct (sum of the VMs\' cpuPct), collectMs: [...]} plus latest {cpu {kernelNs, userNs, idleNs, iowaitNs}, memory {totalKiB, freeKiB, buffersKiB, cachedKiB}} (cumulative counters as <double>).',
    params: [int, opt(int)],
    result: nodeStats,
  }),
  migrationStorage: method({
    name: 'node.migrationStorage',
    help: 'What moving VMs off and onto this node would copy, for planners (vem balance, the dashboard\'s balance view): node.migrationStorage() -> {pools [{name, type, path, available, volumes [names]}] (running pools: a VM\'s disk whose folder is one of them is shared when the pool holds its file, copied into a new volume otherwise), vms [{name, domainType, disks [{target, device, type, path, pool, volume, format, shared, hasBacking, capacity, allocation}]}] (capacity and allocation in bytes, absent when unknown), unknown [VMs whose definition is not read yet]}. vm.migrate applies the same per-disk rule; pools are read as libvirt last refreshed them, at most every 10 s. No VM XML is fetched: served from the agent\'s cached definitions.',
    params: [],
    result: migrationStorageView,
  }),
};
