/**
 * What the heterogeneous demo showed wrong on LXC and Xen nodes (issue 12), each against the
 * simulated drivers of src/libvirt/sim/drivers.ts: level 1 sends each driver its own scheduler
 * fields, a job cancel the driver cannot do is refused naming driver and node, and a figure the
 * per-domain stats route cannot give is absent, not zero.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimCluster, ManualClock, type SimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import { registerLevel1, schedulerModel, schedulerParamsFor } from '../../src/agent/level1.js';
import { MethodRegistry } from '../../src/common/xmlrpc/registry.js';
import type { Level1Observation } from '../../src/balancer/level1.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';

const ctx = { caller: 'test', readOnly: false };

function mixed(): { sim: SimCluster; clock: ManualClock; qemu: SimHypervisor; lxc: SimHypervisor; xen: SimHypervisor; xen2: SimHypervisor } {
  const clock = new ManualClock();
  const sim = createSimCluster({ nodes: 4, vmsPerNode: 4, seed: 5, clock, drivers: ['qemu', 'lxc', 'xen', 'xen'] });
  const [qemu, lxc, xen, xen2] = sim.hypervisors;
  assert.ok(qemu && lxc && xen && xen2);
  return { sim, clock, qemu, lxc, xen, xen2 };
}

async function guests(hv: SimHypervisor): Promise<string[]> {
  const out: string[] = [];
  for (const r of await hv.listDomains()) if (r.name !== 'Domain-0' && (await hv.domainInfo(r.name)).state === 'running') out.push(r.name);
  return out;
}

test("the scheduler's fields are read off its schedinfo answer: shares and CFS quota, or weight and cap", () => {
  assert.deepEqual(schedulerModel({ cpuShares: 1024, vcpuPeriod: 100000, vcpuQuota: -1 }), { kind: 'shares', quota: true });
  assert.deepEqual(schedulerModel({ weight: 256, cap: 0 }), { kind: 'weight', cap: true });
  // libvirt's test driver lists weight only.
  assert.deepEqual(schedulerModel({ weight: 50 }), { kind: 'weight', cap: false });
  assert.equal(schedulerModel({}), undefined);
  const credit = { kind: 'weight', cap: true } as const;
  assert.deepEqual(schedulerParamsFor(credit, 2048, 50000, 100000, 2), { weight: 512, cap: 100 }, 'half of each of 2 vCPUs = one host CPU');
  assert.deepEqual(schedulerParamsFor(credit, 1024, -1, 100000, 2), { weight: 256, cap: 0 }, 'no cap');
  assert.deepEqual(schedulerParamsFor(credit, 1, undefined, 100000, 1), { weight: 1 }, 'weight is at least 1');
  assert.deepEqual(schedulerParamsFor({ kind: 'shares', quota: true }, 700, 20000, 100000, 4), { cpuShares: 700, vcpuQuota: 20000, vcpuPeriod: 100000 });
  assert.deepEqual(schedulerParamsFor({ kind: 'shares', quota: false }, 700, 20000, 100000, 4), { cpuShares: 700 });
});

test('level 1 on a Xen node sets weight and cap (libxl refuses cpu_shares), on LXC cpu_shares; no errors', async () => {
  const { sim, xen, lxc } = mixed();
  try {
    for (const hv of [xen, lxc]) {
      const vms = await guests(hv);
      assert.ok(vms.length >= 2, hv.uri);
      // Contended: every guest wants 3 of the node's 4 cores, the first one most.
      const obs: Level1Observation = {
        cores: 4, memTotalKiB: 64 * 1024 * 1024, memFreeKiB: 32 * 1024 * 1024,
        vms: vms.map((name, i) => ({ name, vcpus: 2, cpuDemand: i === 0 ? 2 : 1.5, memMaxKiB: 1 << 20, memCurKiB: 1 << 20 })),
      };
      // One guest set apart beforehand, so its first adjustment has a "before" to read back.
      await hv.setSchedulerParams(vms[0] ?? '', hv === xen ? { weight: 100 } : { cpuShares: 400 });
      const reg = new MethodRegistry();
      const adj: string[] = [];
      const l1 = registerLevel1(reg, hv, { samples: () => obs, onAdjust: (a) => adj.push(`${a.vm} ${a.what} ${a.before ?? '?'}->${a.after}`) });
      await reg.dispatch('balancer.level1.enable', [{ caps: true }], ctx);
      await l1.tick();
      await l1.tick();
      const st = (await reg.dispatch('balancer.level1.status', [], ctx)) as { errors: Array<{ vm: string; error: string }>; applied: number; last: { decisions: Array<{ vm: string; shares: number; quotaUs?: number }> } };
      assert.deepEqual(st.errors, [], `${hv.uri}: no error per VM per tick`);
      assert.ok(st.applied >= vms.length, hv.uri);
      for (const d of st.last.decisions) {
        const p = await hv.getSchedulerParams(d.vm);
        if (hv === xen) {
          assert.deepEqual(Object.keys(p).sort(), ['cap', 'weight'], d.vm);
          assert.equal(p['weight'], Math.round(d.shares / 4), `${d.vm}: weight from shares`);
          if (d.quotaUs !== undefined && d.quotaUs > 0) assert.ok((p['cap'] ?? 0) > 0, `${d.vm}: capped`);
        } else {
          assert.equal(p.cpuShares, d.shares, d.vm);
        }
      }
      // "before" is read in the driver's terms: Xen's weight 100 is 400 shares.
      assert.ok(adj.some((a) => a.startsWith(`${vms[0] ?? ''} shares 400->`)), adj.join('; '));
      l1.close();
    }
  } finally {
    await sim.close();
  }
});

test('cancelling a job on LXC or Xen is refused naming the driver and node (libvirt has no virDomainAbortJob there)', async () => {
  const { sim, lxc, xen } = mixed();
  try {
    for (const [hv, driver, node] of [[lxc, 'LXC', 'lxc-01'], [xen, 'Xen', 'xen-01']] as const) {
      const vm = (await guests(hv))[0] ?? '';
      await assert.rejects(hv.abortJob(vm), (e: unknown) => {
        assert.ok(e instanceof LibvirtError, String(e));
        assert.equal(e.code, ErrorCode.NO_SUPPORT);
        assert.match(e.message, new RegExp(`^cancelling a job is not supported by the ${driver} driver on ${node}\\.simulated \\(.*virDomainAbortJob\\)$`));
        return true;
      });
    }
  } finally {
    await sim.close();
  }
});

test("through the agent: job.cancel of a Xen migration says the Xen driver cannot, and the move goes on", async (t) => {
  const { sim, clock, xen, xen2 } = mixed();
  const a = await startAgent({ hypervisor: xen, listen: '127.0.0.1:0', pollMs: 60_000 });
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    await sim.close();
  });
  const vm = (await guests(xen))[0] ?? '';
  const id = (await c.call('vm.migrate', vm, 'sim://xen-02')) as string;
  await assert.rejects(c.call('job.cancel', id), /cancelling a job is not supported by the Xen driver on xen-01\.simulated/);
  // A refused cancel is no cancel: were the move to fail now, it must not be reported as cancelled.
  assert.equal(((await c.call('job.get', id)) as { cancelRequested: boolean }).cancelRequested, false);
  for (let i = 0; i < 600 && !(await xen2.listDomains()).some((r) => r.name === vm && r.id > 0); i++) clock.advance(1000);
  assert.ok((await xen2.listDomains()).some((r) => r.name === vm), 'the migration was not stopped');
  let job: { status: string } = { status: 'running' };
  for (let i = 0; i < 100 && job.status === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    job = (await c.call('job.get', id)) as typeof job;
  }
  assert.equal(job.status, 'completed', JSON.stringify(job));
});
