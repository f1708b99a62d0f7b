/** Simulated hypervisor: bulk stats, cumulative counters, workloads and CPU contention by shares. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimCluster, ManualClock, shareCpu, utilAt, makeWorkload, WORKLOAD_KINDS } from '../../src/libvirt/sim/index.js';
import type { DomainStats } from '../../src/libvirt/hypervisor.js';
import { Rng } from '../../src/libvirt/sim/rng.js';

function byName(list: DomainStats[]): Map<string, DomainStats> {
  return new Map(list.map((s) => [s.name, s]));
}

test('counters are cumulative and monotonic; rates follow the workload; raw fields use libvirt names', async () => {
  const clock = new ManualClock();
  const c = createSimCluster({ nodes: 1, vmsPerNode: 20, seed: 3, clock });
  const hv = c.hypervisors[0]!;
  let prev = byName(await hv.allDomainStats());
  const running = [...prev.values()].filter((s) => s.state?.state === 'running');
  assert.ok(running.length >= 15);
  const one = running[0]!;
  for (const k of ['state.state', 'cpu.time', 'balloon.current', 'balloon.rss', 'vcpu.current', 'vcpu.0.time', 'net.count', 'net.0.rx.bytes', 'net.0.tx.pkts', 'block.count', 'block.0.rd.bytes', 'block.0.wr.reqs', 'block.0.capacity']) {
    assert.ok(k in one.raw, `raw has ${k}`);
  }
  assert.equal(one.raw['cpu.time'], one.cpu?.timeNs);
  const json = JSON.parse(JSON.stringify(one)) as DomainStats;
  assert.equal(json.raw['net.0.rx.bytes'], one.net?.[0]?.rxBytes);
  assert.equal(json.cpu?.timeNs, one.cpu?.timeNs);
  const rates: number[] = [];
  for (let step = 0; step < 20; step++) {
    clock.advance(3_000);
    const now = byName(await hv.allDomainStats());
    for (const s of running) {
      const a = prev.get(s.name)!;
      const b = now.get(s.name)!;
      assert.ok(b.cpu!.timeNs >= a.cpu!.timeNs, 'cpu.time never goes back');
      assert.ok(b.net![0]!.rxBytes >= a.net![0]!.rxBytes && b.net![0]!.txPkts >= a.net![0]!.txPkts);
      assert.ok(b.block![0]!.wrBytes >= a.block![0]!.wrBytes && b.block![0]!.rdReqs >= a.block![0]!.rdReqs);
      const cores = (b.cpu!.timeNs - a.cpu!.timeNs) / 3e9;
      assert.ok(cores >= 0 && cores <= b.vcpu!.current + 1e-9, `a VM never uses more than its vCPUs (${cores})`);
      const vsum = b.vcpu!.timesNs.reduce((x, y) => x + y, 0);
      assert.ok(vsum <= b.cpu!.timeNs);
      assert.ok(b.balloon!.rssKiB! <= b.balloon!.currentKiB + 200 * 1024);
      if (s.name === running[0]!.name) rates.push(cores);
    }
    prev = now;
  }
  assert.ok(new Set(rates.map((r) => r.toFixed(4))).size > 3, 'load moves over time');
  // A paused VM uses no CPU.
  const paused = [...prev.values()].find((s) => s.state?.state === 'paused');
  assert.ok(paused);
  clock.advance(5_000);
  assert.equal(byName(await hv.allDomainStats()).get(paused.name)!.cpu!.timeNs, paused.cpu!.timeNs);
  await c.close();
});

test('counters do not depend on how often they are polled', async () => {
  const mk = (): { c: ReturnType<typeof createSimCluster>; clock: ManualClock } => {
    const clock = new ManualClock();
    return { clock, c: createSimCluster({ nodes: 1, vmsPerNode: 8, seed: 9, clock }) };
  };
  const a = mk();
  const b = mk();
  for (let i = 0; i < 60; i++) {
    a.clock.advance(1_000);
    await a.c.hypervisors[0]!.allDomainStats();
  }
  b.clock.advance(60_000);
  const sa = await a.c.hypervisors[0]!.allDomainStats();
  const sb = await b.c.hypervisors[0]!.allDomainStats();
  for (let i = 0; i < sa.length; i++) {
    const x = sa[i]!.cpu?.timeNs ?? 0;
    const y = sb[i]!.cpu?.timeNs ?? 0;
    assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(1, x), `${sa[i]!.name}: ${x} vs ${y}`);
  }
  await Promise.all([a.c.close(), b.c.close()]);
});

test('under contention VMs get CPU in proportion to cpu_shares; the balloon caps memory', async () => {
  const clock = new ManualClock();
  const c = createSimCluster({ nodes: 1, vmsPerNode: 0, seed: 4, clock });
  const hv = c.hypervisors[0]!;
  const cores = (await hv.hostInfo()).node.cpus;
  const n = Math.ceil(cores / 4);
  for (let i = 0; i < n; i++) {
    await hv.defineDomain(
      `<domain type='kvm'><name>burn-${i}</name><metadata><vemsim:sim xmlns:vemsim='https://ve-manager.dev/xmlns/sim/1' workload='idle' util='1'/></metadata>` +
        `<memory unit='GiB'>2</memory><vcpu>16</vcpu><devices><interface type='network'><source network='default'/></interface></devices></domain>`,
    );
    await hv.start(`burn-${i}`);
  }
  await hv.setSchedulerParams('burn-0', { cpuShares: 2048 });
  const t0 = byName(await hv.allDomainStats());
  clock.advance(10_000);
  const t1 = byName(await hv.allDomainStats());
  const used = (name: string): number => (t1.get(name)!.cpu!.timeNs - t0.get(name)!.cpu!.timeNs) / 10e9;
  const total = [...t1.keys()].reduce((s, k) => s + used(k), 0);
  assert.ok(Math.abs(total - cores) < 1e-6 * cores, `the host is saturated: ${total} of ${cores} cores`);
  const ratio = used('burn-0') / used('burn-1');
  assert.ok(Math.abs(ratio - 2) < 1e-6, `double shares, double CPU (got ${ratio})`);
  // A quota caps the VM whatever its shares.
  await hv.setSchedulerParams('burn-0', { vcpuQuota: 25_000, vcpuPeriod: 100_000 });
  const t2 = byName(await hv.allDomainStats());
  clock.advance(10_000);
  const t3 = byName(await hv.allDomainStats());
  const capped = (t3.get('burn-0')!.cpu!.timeNs - t2.get('burn-0')!.cpu!.timeNs) / 10e9;
  assert.ok(Math.abs(capped - 4) < 1e-6, `16 vCPUs x 25 % quota = 4 cores (got ${capped})`);
  // Balloon: memory in use never exceeds the target.
  await hv.setMemory('burn-1', 512 * 1024);
  clock.advance(2_000);
  const b = byName(await hv.allDomainStats()).get('burn-1')!.balloon!;
  assert.equal(b.currentKiB, 512 * 1024);
  assert.ok(b.rssKiB! <= 512 * 1024 + 200 * 1024);
  assert.ok(b.unusedKiB! < 512 * 1024);
  const node = await hv.nodeStats();
  assert.ok(node.memory.freeKiB < node.memory.totalKiB);
  assert.ok(node.cpu.userNs > 0 && node.cpu.idleNs >= 0);
  await c.close();
});

test('shareCpu: weighted max-min fairness', () => {
  const out = new Float64Array(4);
  const done = new Uint8Array(4);
  shareCpu(Float64Array.from([1, 8, 8, 8]), Float64Array.from([1024, 1024, 2048, 1024]), 4, 10, out, done);
  assert.equal(out[0], 1, 'a small demand is met');
  assert.ok(Math.abs(out[2]! - 2 * out[1]!) < 1e-9 && Math.abs(out[1]! - out[3]!) < 1e-9);
  assert.ok(Math.abs(out.reduce((a, b) => a + b, 0) - 10) < 1e-9);
  shareCpu(Float64Array.from([1, 2, 0, 0]), Float64Array.from([1, 1, 1, 1]), 4, 10, out, done);
  assert.deepEqual([...out], [1, 2, 0, 0]);
});

test('workload kinds stay within 0..1 and differ in shape', () => {
  const rng = new Rng(1);
  const same = new Rng(1);
  const other = new Rng(2);
  for (const k of WORKLOAD_KINDS) {
    const p = makeWorkload(k, rng);
    const twin = makeWorkload(k, same);
    const stranger = makeWorkload(k, other);
    const xs = Array.from({ length: 2000 }, (_, i) => utilAt(p, 1_700_000_000 + i * 37));
    assert.ok(xs.every((x) => x >= 0 && x <= 1), k);
    const spread = Math.max(...xs) - Math.min(...xs);
    if (k === 'idle') assert.ok(spread < 0.1, `${k} spread ${spread}`);
    else assert.ok(spread > 0.2, `${k} spread ${spread}`);
    // Deterministic by seed: the same seed gives the same series, another seed a different one.
    const ts = Array.from({ length: 50 }, (_, i) => 1_700_000_123.5 + i * 611);
    assert.deepEqual(ts.map((t) => utilAt(twin, t)), ts.map((t) => utilAt(p, t)), `${k}: same seed, same load`);
    if (k !== 'idle') assert.notDeepEqual(ts.map((t) => utilAt(stranger, t)), ts.map((t) => utilAt(p, t)), `${k}: another seed, another load`);
  }
});

test('with hotspots, the small node runs out of CPU at times while the default cluster is unchanged', async () => {
  const plain = createSimCluster({ nodes: 5, vmsPerNode: 10, seed: 1, clock: new ManualClock() });
  const again = createSimCluster({ nodes: 5, vmsPerNode: 10, seed: 1, clock: new ManualClock(), hotspots: false });
  assert.deepEqual(await again.hypervisors[2]!.hostInfo(), await plain.hypervisors[2]!.hostInfo());
  const clock = new ManualClock();
  const hot = createSimCluster({ nodes: 5, vmsPerNode: 10, seed: 1, clock, hotspots: true });
  const hv = hot.hypervisors[2]!;
  const cores = (await hv.hostInfo()).node.cpus;
  assert.ok(cores < (await plain.hypervisors[2]!.hostInfo()).node.cpus);
  assert.deepEqual((await hv.listDomains()).map((d) => d.name), (await plain.hypervisors[2]!.listDomains()).map((d) => d.name));
  let saturated = 0;
  let prev = byName(await hv.allDomainStats());
  for (let i = 0; i < 60; i++) {
    clock.advance(10_000);
    const now = byName(await hv.allDomainStats());
    let used = 0;
    for (const [name, s] of now) used += ((s.cpu?.timeNs ?? 0) - (prev.get(name)?.cpu?.timeNs ?? 0)) / 10e9;
    if (used > cores * 0.99) saturated++;
    prev = now;
  }
  assert.ok(saturated > 0, 'demand exceeded the cores at least once in 10 minutes');
  await Promise.all([plain.close(), again.close(), hot.close()]);
});
