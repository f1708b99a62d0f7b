/** Level 1 (pure): shares follow entitlement, balloons reclaim idle memory under pressure and give it back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LEVEL1, planLevel1, waterFill, type L1Vm, type Level1Observation } from '../../src/balancer/level1.js';
import { momBalloon, simulateLevel1 } from '../../src/balancer/level1-sim.js';
import { createRng } from '../../src/balancer/rng.js';
import { generateTrace } from '../../src/balancer/tracegen.js';

const GiB = 1024 * 1024;

function vm(name: string, cpuDemand: number, o: Partial<L1Vm> = {}): L1Vm {
  return { name, vcpus: 2, cpuDemand, memMaxKiB: 4 * GiB, memCurKiB: 4 * GiB, memUsedKiB: 1 * GiB, ...o };
}

test('water-filling: weighted max-min fair, demand-capped, work-conserving', () => {
  assert.deepEqual(waterFill(4, [1, 1, 1], [1, 1, 1]), [1, 1, 1]);
  assert.deepEqual(waterFill(3, [3, 3, 3], [1, 1, 1]), [1, 1, 1]);
  const w = waterFill(4, [0.5, 3, 3], [1, 1, 2]);
  assert.ok(Math.abs((w[0] as number) - 0.5) < 1e-9);
  assert.ok(Math.abs((w[1] as number) - 3.5 / 3) < 1e-9);
  assert.ok(Math.abs((w[2] as number) - 7 / 3) < 1e-9);
});

test('a VM burning CPU gets more shares than an idle one; priorities weigh under contention', () => {
  const p = planLevel1({ cores: 2, memTotalKiB: 64 * GiB, memFreeKiB: 48 * GiB, vms: [vm('busy', 1), vm('idle', 0)] });
  const busy = p.decisions.find((d) => d.vm === 'busy');
  const idle = p.decisions.find((d) => d.vm === 'idle');
  assert.ok(busy && idle && busy.shares > DEFAULT_LEVEL1.baseShares && busy.shares > 2 * idle.shares, JSON.stringify(p.decisions));
  const q = planLevel1({ cores: 2, memTotalKiB: 64 * GiB, memFreeKiB: 48 * GiB, vms: [vm('gold', 2, { policy: { priority: 3 } }), vm('bronze', 2)] });
  assert.equal(q.contended, true);
  const [g, b] = q.decisions;
  assert.ok(g && b && Math.abs(g.entitledCores - 1.5) < 1e-9 && Math.abs(b.entitledCores - 0.5) < 1e-9);
  assert.ok(g.shares > 2.5 * b.shares);
});

test('caps hold a contended VM to its entitlement and are lifted without contention', () => {
  const cfg = { ...DEFAULT_LEVEL1, caps: true };
  const q = planLevel1({ cores: 2, memTotalKiB: 64 * GiB, memFreeKiB: 48 * GiB, vms: [vm('a', 2), vm('b', 2)] }, cfg);
  assert.equal(q.decisions[0]?.quotaUs, 50_000); // 1 core over 2 vCPUs of a 100 ms period
  const r = planLevel1({ cores: 8, memTotalKiB: 64 * GiB, memFreeKiB: 48 * GiB, vms: [vm('a', 2), vm('b', 2)] }, cfg);
  assert.equal(r.decisions[0]?.quotaUs, -1);
});

test('under memory pressure idle balloons shrink, never below use + headroom nor the minimum', () => {
  const obs: Level1Observation = {
    cores: 4, memTotalKiB: 10 * GiB, memFreeKiB: 1 * GiB,
    vms: [vm('idle', 0, { memUsedKiB: 0.5 * GiB }), vm('busy', 1, { memUsedKiB: 3.5 * GiB }), vm('floor', 0, { memUsedKiB: 0.1 * GiB, policy: { minMemKiB: 3.9 * GiB } })],
  };
  const p = planLevel1(obs);
  assert.equal(p.pressure, true);
  const idle = p.decisions.find((d) => d.vm === 'idle');
  assert.ok(idle?.balloonKiB !== undefined && idle.balloonKiB < 4 * GiB);
  assert.ok(idle.balloonKiB >= (0.5 * GiB) / 0.8 - 1);
  assert.ok(idle.balloonKiB >= 4 * GiB - DEFAULT_LEVEL1.shrinkStep * 4 * GiB - 1, 'one bounded step per period');
  assert.equal(p.decisions.find((d) => d.vm === 'busy')?.balloonKiB, undefined);
  const floor = p.decisions.find((d) => d.vm === 'floor');
  assert.ok(floor?.balloonKiB === undefined || floor.balloonKiB >= 3.9 * GiB);
});

test('a guest whose use rises gets memory back; without pressure balloons relax towards the maximum', () => {
  const grow = planLevel1({ cores: 4, memTotalKiB: 16 * GiB, memFreeKiB: 8 * GiB, vms: [vm('a', 0, { memCurKiB: 2 * GiB, memUsedKiB: 2 * GiB })] });
  assert.equal(grow.decisions[0]?.balloonKiB, Math.round((2 * GiB) / 0.8));
  const relax = planLevel1({ cores: 4, memTotalKiB: 16 * GiB, memFreeKiB: 8 * GiB, vms: [vm('a', 0, { memCurKiB: 2 * GiB, memUsedKiB: 0.5 * GiB })] });
  assert.equal(relax.decisions[0]?.balloonKiB, 2 * GiB + Math.round(0.05 * 4 * GiB));
});

test('property: balloons stay within [min, max], growth never exceeds free memory, shares within libvirt range', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = createRng(seed);
    const vms: L1Vm[] = Array.from({ length: r.int(1, 12) }, (_, i) => {
      const max = r.pick([1, 2, 4, 8]) * GiB;
      const cur = Math.round(max * (0.3 + 0.7 * r.next()));
      return { name: `v${i}`, vcpus: r.int(1, 4), cpuDemand: 4 * r.next(), memMaxKiB: max, memCurKiB: cur, memUsedKiB: Math.round(cur * r.next()), policy: { priority: r.int(1, 3) } };
    });
    const total = r.pick([8, 16, 32]) * GiB;
    const sum = vms.reduce((s, v) => s + v.memCurKiB, 0);
    const obs: Level1Observation = { cores: r.int(1, 16), memTotalKiB: total, memFreeKiB: Math.max(0, total - sum), vms };
    const p = planLevel1(obs);
    let grown = 0;
    for (const d of p.decisions) {
      const v = vms.find((x) => x.name === d.vm) as L1Vm;
      assert.ok(d.shares >= 2 && d.shares <= 262_144, `seed ${seed}`);
      if (d.balloonKiB === undefined) continue;
      assert.ok(d.balloonKiB <= v.memMaxKiB && d.balloonKiB >= Math.min(v.memCurKiB, v.memMaxKiB * 0.1) - 1, `seed ${seed}: ${d.vm} -> ${d.balloonKiB}`);
      grown += d.balloonKiB - v.memCurKiB;
    }
    assert.ok(grown <= obs.memFreeKiB + 1, `seed ${seed}: balloons grew by ${grown} with ${obs.memFreeKiB} free`);
  }
});

test('MOM-like rule: shrink at most 5 % a step keeping 20 % free in the guest; grow 5 % when pressure ends', () => {
  assert.equal(momBalloon(1000, 100, 1000, true), 950);
  assert.equal(momBalloon(1000, 900, 1000, true), 1000); // 900 / 0.8 > 1000: keep
  assert.equal(momBalloon(1000, 780, 1000, true), 975);
  assert.equal(momBalloon(900, 100, 1000, false), 945);
  assert.equal(momBalloon(990, 100, 1000, false), 1000);
});

test('level-1 simulator: ours serves the high-priority VMs and guests better than static shares + MOM', () => {
  const t = generateTrace({ kind: 'onoff', vms: 12, steps: 300, seed: 2 });
  const peakCpu = t.vms.reduce((s, v) => s + Math.max(...v.cpu), 0);
  const peakMem = t.vms.reduce((s, v) => s + Math.max(...v.mem), 0);
  const base = simulateLevel1(t.vms, t.period, Math.round(peakCpu / 2), peakMem * 1.1, 'static+mom');
  const ours = simulateLevel1(t.vms, t.period, Math.round(peakCpu / 2), peakMem * 1.1, 'ours');
  assert.ok(ours.cpu_shortfall_high < base.cpu_shortfall_high, `${ours.cpu_shortfall_high} vs ${base.cpu_shortfall_high}`);
  assert.ok(ours.guest_swap < base.guest_swap, `${ours.guest_swap} vs ${base.guest_swap}`);
});
