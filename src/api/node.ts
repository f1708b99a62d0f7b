/** node.*: the host, its capacity and its history. */
import { method } from './method.js';
import { int, opt } from './schema.js';
import { nodeInfo, nodeStats } from './types.js';

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
};
