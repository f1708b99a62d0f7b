import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainStats, NodeStats } from '../../src/libvirt/hypervisor.js';
import { memUsedKiB, nodeSample, vmCounters, vmSample } from '../../src/agent/rates.js';
import { Collector } from '../../src/agent/collector.js';
import { renderMetrics } from '../../src/agent/metrics.js';

function stats(cpuNs: number, rd: number, rx: number, state: 'running' | 'shutoff' = 'running'): DomainStats {
  return {
    name: 'vm1',
    uuid: 'u-1',
    state: { state, reason: 1 },
    cpu: { timeNs: cpuNs },
    vcpu: { current: 2, maximum: 4, timesNs: [] },
    balloon: { currentKiB: 1_048_576, maximumKiB: 2_097_152, availableKiB: 1_000_000, unusedKiB: 400_000, rssKiB: 900_000 },
    block: [{ name: 'vda', path: '/img/a "b".qcow2', rdBytes: rd, rdReqs: 1, wrBytes: 0, wrReqs: 0 }],
    net: [{ name: 'vnet0', rxBytes: rx, rxPkts: 1, txBytes: 0, txPkts: 0 }],
    raw: {},
  };
}

function node(busyNs: number, idleNs: number): NodeStats {
  return { cpu: { kernelNs: busyNs / 2, userNs: busyNs / 2, idleNs, iowaitNs: 0 }, memory: { totalKiB: 8_000_000, freeKiB: 2_000_000, buffersKiB: 500_000, cachedKiB: 1_500_000 } };
}

test('VM rates: CPU % of host and of vCPUs, bytes/s, memory from balloon stats', () => {
  const a = vmCounters(stats(0, 0, 0), 0);
  const b = vmCounters(stats(1e9, 4096, 2048), 2000); // 1 s of CPU over 2 s
  assert.equal(vmSample(undefined, a, stats(0, 0, 0), 4), undefined, 'no rate on first sight');
  const s = vmSample(a, b, stats(1e9, 4096, 2048), 4);
  assert.ok(s);
  assert.equal(s.cpuPct, 12.5); // 0.5 CPU of 4 host CPUs
  assert.equal(s.vcpuPct, 25); // 0.5 CPU of 2 vCPUs
  assert.equal(s.diskRdBps, 2048);
  assert.equal(s.netRxBps, 1024);
  assert.equal(s.memUsedKiB, 600_000);
  assert.equal(s.memKiB, 1_048_576);
});

test('a counter that went back (VM restarted) gives no negative rate; a shut-off VM uses nothing', () => {
  const a = vmCounters(stats(5e9, 9000, 9000), 0);
  const b = vmCounters(stats(1e8, 10, 10), 1000);
  const s = vmSample(a, b, stats(1e8, 10, 10), 2);
  assert.equal(s?.cpuPct, 0);
  assert.equal(s?.diskRdBps, 0);
  const off = vmSample(a, vmCounters(stats(6e9, 0, 0, 'shutoff'), 1000), stats(6e9, 0, 0, 'shutoff'), 2);
  assert.equal(off?.cpuPct, 0);
  assert.equal(off?.memUsedKiB, 0);
});

test('memory used falls back to RSS; with neither it is unknown, not the balloon size (which read as 100 %)', () => {
  const s = stats(0, 0, 0);
  assert.equal(memUsedKiB(s), 600_000);
  s.balloon = { currentKiB: 1_048_576, maximumKiB: 2_097_152, rssKiB: 900_000 };
  assert.equal(memUsedKiB(s), 900_000);
  s.balloon = { currentKiB: 1_048_576, maximumKiB: 2_097_152 };
  assert.equal(memUsedKiB(s), undefined);
});

test('node sample: busy and memory in use', () => {
  const s = nodeSample(node(0, 0), node(3e9, 1e9), { vmsRunning: 2, vmCpuPct: 10, collectMs: 1 });
  assert.equal(s.cpuPct, 75);
  assert.equal(s.memUsedKiB, 4_000_000);
  assert.equal(s.vmsRunning, 2);
});

test('collector folds polls into history and metrics render one family per name with escaped labels', () => {
  const c = new Collector({ pollMs: 1000, historySeconds: 10 });
  c.hostCpus = 4;
  c.ingest([stats(0, 0, 0)], node(0, 0), 0);
  c.ingest([stats(2e9, 1000, 500)], node(3e9, 1e9), 1000);
  c.ingest([stats(4e9, 2000, 1000)], node(6e9, 2e9), 2000);
  const e = c.vms.get('vm1');
  assert.equal(e?.ring?.size, 2);
  assert.equal(e?.ring?.latest()?.cpuPct, 50);
  assert.equal(c.capacity, 10);
  const text = renderMetrics({ collector: c, libvirtUp: true, hostCpus: 4 });
  assert.match(text, /^vem_domain_cpu_usage_percent\{domain="vm1"\} 50$/m);
  assert.match(text, /^libvirt_domain_info_cpu_time_seconds_total\{domain="vm1"\} 4$/m);
  assert.match(text, /source_file="\/img\/a \\"b\\".qcow2"/);
  assert.match(text, /^vem_node_cpu_usage_percent 75$/m);
  // every family's samples come right after its TYPE line
  const names: string[] = [];
  for (const line of text.trim().split('\n')) {
    if (line.startsWith('# TYPE ')) names.push(line.split(' ')[2] as string);
    else if (!line.startsWith('#')) assert.ok(line.startsWith(names[names.length - 1] as string), line);
  }
  assert.equal(new Set(names).size, names.length);
});

test('a VM that stays shut off gets no history ring', () => {
  const c = new Collector({ pollMs: 1000, historySeconds: 10 });
  c.ingest([stats(0, 0, 0, 'shutoff')], node(0, 0), 0);
  c.ingest([stats(0, 0, 0, 'shutoff')], node(1, 1), 1000);
  assert.equal(c.vms.get('vm1')?.ring, undefined);
});

test('a poll that comes due while the last one still runs is dropped, not queued', async () => {
  // A hypervisor stand-in whose bulk-stats call answers only when told to (pure collector logic).
  let release: (() => void) | undefined;
  const hv = {
    allDomainStats: () => new Promise<DomainStats[]>((resolve) => (release = () => resolve([stats(1e9, 0, 0)]))),
    nodeStats: async () => node(1, 1),
  } as unknown as import('../../src/libvirt/hypervisor.js').Hypervisor;
  const c = new Collector({ pollMs: 1000, historySeconds: 10 });
  const first = c.collect(hv);
  assert.equal(await c.collect(hv), false);
  assert.equal(await c.collect(hv), false);
  assert.equal(c.dropped, 2);
  release?.();
  assert.equal(await first, true);
  assert.equal(c.collections, 1);
  assert.equal(c.running, false);
});

test('a partial NOWAIT record (VM busy migrating) keeps the last full figures and makes no spike', () => {
  const c = new Collector({ pollMs: 1000, historySeconds: 10 });
  c.hostCpus = 4;
  c.ingest([stats(0, 0, 0)], node(0, 0), 0);
  c.ingest([stats(1e9, 0, 0)], node(1, 1), 1000);
  const partial: DomainStats = { name: 'vm1', uuid: 'u-1', state: { state: 'running', reason: 1 }, raw: {} };
  c.ingest([partial], node(2, 2), 2000);
  c.ingest([stats(3e9, 0, 0)], node(3, 3), 3000);
  const e = c.vms.get('vm1');
  assert.deepEqual(e?.ring?.columnsAfter(0).cols.cpuPct, [25, 25], '2 s of CPU over 2 s on 4 CPUs, no spike');
  assert.equal(e?.last.cpu?.timeNs, 3e9);
});

test('a per-domain record (LXC, Xen: GetInfo only) gives CPU but no memory-in-use or disk/net rates: NaN kept, no metric series', () => {
  const perDomain = (cpuNs: number): DomainStats => ({
    name: 'ct1', uuid: 'u-2', state: { state: 'running', reason: 0 }, cpu: { timeNs: cpuNs },
    balloon: { currentKiB: 524_288, maximumKiB: 524_288 }, vcpu: { current: 1, maximum: 1, timesNs: [] }, raw: {},
  });
  const s = vmSample(vmCounters(perDomain(0), 0), vmCounters(perDomain(1e9), 1000), perDomain(1e9), 2);
  assert.equal(s?.cpuPct, 50);
  for (const f of ['memUsedKiB', 'diskRdBps', 'diskWrBps', 'netRxBps', 'netTxBps'] as const) assert.ok(Number.isNaN(s?.[f]), `${f}: ${String(s?.[f])}`);
  // Stopped, the same record's figures are true zeros.
  const off = { ...perDomain(1e9), state: { state: 'shutoff' as const, reason: 0 } };
  assert.equal(vmSample(vmCounters(off, 0), vmCounters(off, 1000), off, 2)?.diskRdBps, 0);
  const c = new Collector({ pollMs: 1000, historySeconds: 10 });
  c.hostCpus = 2;
  c.ingest([perDomain(0)], node(0, 0), 0);
  c.ingest([perDomain(1e9)], node(3e9, 1e9), 1000);
  const text = renderMetrics({ collector: c, libvirtUp: true, hostCpus: 2 });
  assert.match(text, /^vem_domain_cpu_usage_percent\{domain="ct1"\} 50$/m);
  assert.doesNotMatch(text, /^vem_domain_(memory_used_bytes|disk_\w+|network_\w+)\{domain="ct1"\}/m);
});

test('a VM started after polls shut off gets rates from its stopped counters on, and each poll rates against the one before (counters swapped, not copied)', () => {
  const c = new Collector({ pollMs: 1000, historySeconds: 10 });
  c.hostCpus = 4;
  c.ingest([stats(0, 0, 0, 'shutoff')], node(0, 0), 0);
  c.ingest([stats(0, 0, 0, 'shutoff')], node(1, 1), 1000);
  c.ingest([stats(2e9, 1000, 0)], node(2, 2), 2000);
  c.ingest([stats(3e9, 3000, 0)], node(3, 3), 3000);
  c.ingest([stats(7e9, 3000, 0)], node(4, 4), 4000);
  const cols = c.vms.get('vm1')?.ring?.columnsAfter(0).cols;
  assert.deepEqual(cols?.cpuPct, [50, 25, 100]);
  assert.deepEqual(cols?.diskRdBps, [1000, 2000, 0]);
});

test('a VM gone from the stats is forgotten once it has been absent longer than forgetAfterTicks (checked every 64 polls); one still listed is kept', () => {
  const c = new Collector({ pollMs: 1000, historySeconds: 10, forgetAfterTicks: 10 });
  const other = (): DomainStats => ({ ...stats(0, 0, 0), name: 'vm2', uuid: 'u-2' });
  c.ingest([stats(0, 0, 0), other()], node(0, 0), 0);
  for (let t = 1; t < 63; t++) c.ingest([other()], node(t, t), t * 1000);
  assert.ok(c.vms.has('vm1'), 'not yet checked');
  c.ingest([other()], node(63, 63), 63_000); // the 64th poll
  assert.equal(c.vms.has('vm1'), false, 'absent 63 polls, more than 10: forgotten');
  assert.ok(c.vms.has('vm2'));
});

test('the collector finds each VM by name whatever the order of the records, and a forgotten VM starts afresh', () => {
  const c = new Collector({ pollMs: 1000, historySeconds: 10 });
  c.hostCpus = 8;
  const named = (name: string, cpuNs: number): DomainStats => ({ ...stats(cpuNs, 0, 0), name, uuid: `u-${name}` });
  c.ingest([named('a', 0), named('b', 0)], node(0, 0), 0);
  // Order swapped and a VM added in front: every record still lands in its own VM's ring.
  c.ingest([named('c', 0), named('b', 2e9), named('a', 1e9)], node(1, 1), 1000);
  assert.equal(c.vms.get('a')?.ring?.latest()?.cpuPct, 12.5); // 1 s of CPU per second on 8 host CPUs
  assert.equal(c.vms.get('b')?.ring?.latest()?.cpuPct, 25);
  assert.equal(c.vms.get('c')?.ring, undefined); // first poll of c: no rate yet
  c.forget('b');
  c.ingest([named('c', 1e9), named('b', 4e9), named('a', 2e9)], node(2, 2), 2000);
  const b = c.vms.get('b');
  assert.ok(b);
  assert.equal(b.ring, undefined); // a new entry: its first poll again
  assert.equal(c.vms.get('c')?.ring?.latest()?.cpuPct, 12.5);
  assert.equal(c.vms.size, 3);
});
