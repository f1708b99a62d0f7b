// The agent's balancer.level1.* methods through a real MethodRegistry dispatch,
// acting on the simulated hypervisor (the product's sim): settings are checked,
// dry runs change nothing, enabled ticks set shares and balloons, disable stops.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLevel1Observer, parseLevel1Settings, registerLevel1, toLevel1Observation, type Level1Handle } from '../../src/agent/level1.js';
import { DEFAULT_LEVEL1 } from '../../src/balancer/level1.js';
import { MethodRegistry } from '../../src/common/xmlrpc/registry.js';
import { isStruct } from '../../src/common/xmlrpc/value.js';
import { createSimCluster, type SimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';

const ctx = { caller: 'test', readOnly: false };

describe('balancer.level1.* in the agent (simulated hypervisor)', () => {
  let sim: SimCluster;
  let hv: SimHypervisor;
  let reg: MethodRegistry;
  let l1: Level1Handle;
  let vms: string[];
  let observer: ReturnType<typeof createLevel1Observer>;

  before(async () => {
    sim = createSimCluster({ nodes: 1, vmsPerNode: 6, seed: 3 });
    hv = sim.hypervisors[0] as SimHypervisor;
    vms = (await hv.listDomains({ active: true })).map((d) => d.name);
    assert.ok(vms.length >= 3);
    hv.setWorkload(vms[0] as string, { kind: 'idle', base: 1, peak: 1, noise: 0 });
    for (const v of vms.slice(1)) hv.setWorkload(v, { kind: 'idle', base: 0.01, peak: 0.01, noise: 0 });
    reg = new MethodRegistry();
    observer = createLevel1Observer(hv);
    l1 = registerLevel1(reg, hv, { samples: () => observer.latest() });
    await observer.sample();
    await new Promise((r) => setTimeout(r, 1100));
    await observer.sample();
  });
  after(async () => {
    l1?.close();
    await sim?.close();
  });

  it('settings: known fields are taken, anything else is refused with its name', () => {
    const { config, policies } = parseLevel1Settings({ pressureFree: 0.3, caps: true, vms: { a: { priority: 2, minMemKiB: 1024 } } }, DEFAULT_LEVEL1);
    assert.equal(config.pressureFree, 0.3);
    assert.equal(config.caps, true);
    assert.deepEqual(policies.get('a'), { priority: 2, minMemKiB: 1024 });
    assert.throws(() => parseLevel1Settings({ speed: 1 }, DEFAULT_LEVEL1), /unknown setting 'speed'/);
    assert.throws(() => parseLevel1Settings({ caps: 1 }, DEFAULT_LEVEL1), /caps must be a boolean/);
    assert.throws(() => parseLevel1Settings({ vms: { a: { weight: 1 } } }, DEFAULT_LEVEL1), /vms\.a\.weight/);
  });

  it("the collector's observation (cpuPct of the node) converts to cores", () => {
    const o = toLevel1Observation({ cpus: 8, memTotalKiB: 1000, memUsedKiB: 600, vms: [
      { name: 'a', state: 'running', vcpus: 2, memKiB: 100, maxMemKiB: 200, cpuPct: 25, memUsedKiB: 50 },
      { name: 'b', state: 'shutoff', vcpus: 2, memKiB: 0, maxMemKiB: 200, cpuPct: 0, memUsedKiB: 0 },
    ] });
    assert.equal(o.cores, 8);
    assert.equal(o.memFreeKiB, 400);
    assert.deepEqual(o.vms.map((v) => [v.name, v.cpuDemand]), [['a', 2]]);
  });

  it('dryRun decides without acting; enable acts on tick; disable stops', async () => {
    const before0 = await hv.getSchedulerParams(vms[0] as string);
    const dry = await reg.dispatch('balancer.level1.dryRun', [], ctx);
    assert.ok(isStruct(dry) && Array.isArray(dry.decisions) && dry.decisions.length === vms.length);
    await l1.tick(); // disabled: nothing happens
    assert.deepEqual(await hv.getSchedulerParams(vms[0] as string), before0);
    const st = await reg.dispatch('balancer.level1.enable', [{ memBudgetKiB: 1 }], ctx);
    assert.ok(isStruct(st) && st.enabled === true);
    await l1.tick();
    const busy = (await hv.getSchedulerParams(vms[0] as string)).cpuShares ?? 0;
    const idle = (await hv.getSchedulerParams(vms[1] as string)).cpuShares ?? 0;
    assert.ok(busy > idle, `busy ${busy} vs idle ${idle}`);
    const status = await reg.dispatch('balancer.level1.status', [], ctx);
    assert.ok(isStruct(status) && status.ticks === 1 && typeof status.applied === 'number' && status.applied > 0, JSON.stringify(status));
    assert.ok(isStruct(status.last) && status.last.pressure === true);
    await reg.dispatch('balancer.level1.disable', [], ctx);
    await hv.setSchedulerParams(vms[0] as string, { cpuShares: 1024 });
    await l1.tick();
    assert.equal((await hv.getSchedulerParams(vms[0] as string)).cpuShares, 1024);
  });

  it('enable and disable change state, so a read-only agent refuses them', async () => {
    await assert.rejects(reg.dispatch('balancer.level1.enable', [], { caller: 'test', readOnly: true }), /read-only/);
  });
});
