/**
 * A figure the node's driver cannot give is absent, not zero (issue 12): on the per-domain stats
 * route (LXC and Xen have no virConnectGetAllDomainStats; GetInfo has no balloon detail, block or
 * interface counters), a running container's memory in use and its disk and network rates are
 * left out of vm.list, vm.stats and vm.info, NaN in vm.watch's packed columns, and the
 * dashboard's VM table shows '-' for them, where it showed 0 B/s and MEM% 100 %. A QEMU node's
 * figures (bulk route) are all there; a stopped VM's zeros are true figures on any driver.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { client, type Client } from '../../src/api/client.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { createSimCluster, type SimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { inventoryVm, liveSamples } from '../../src/tui/store/decode.js';
import { ClusterStore } from '../../src/tui/store/store.js';
import { vmLines } from '../../src/tui/views/tables.js';
import { makeTheme } from '../../src/tui/views/theme.js';
import { toLevel1Observation } from '../../src/agent/level1.js';
import { level1Observation } from '../../src/agent/observation.js';

const OPTIONAL = ['memUsedKiB', 'diskRdBps', 'diskWrBps', 'netRxBps', 'netTxBps'] as const;

async function agentOn(t: TestContext, sim: SimCluster, hv: SimHypervisor): Promise<{ c: Client; a: Awaited<ReturnType<typeof startAgent>> }> {
  const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 60_000 });
  const raw = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    raw.close();
    await a.close();
  });
  // Two collections: the second gives each VM its first rates.
  await a.collectNow();
  await new Promise((r) => setTimeout(r, 20));
  await a.collectNow();
  void sim;
  return { c: client(raw), a };
}

test('LXC and Xen (per-domain route): memory in use and the disk/net rates are absent on every wire path; QEMU has them', async (t) => {
  const sim = createSimCluster({ nodes: 3, vmsPerNode: 5, seed: 7, drivers: ['qemu', 'lxc', 'xen'] });
  t.after(() => sim.close());
  const [qemu, lxc, xen] = sim.hypervisors;
  assert.ok(qemu && lxc && xen);
  for (const hv of [lxc, xen, qemu]) {
    // One VM stopped before the agent starts (never seen running): its zeros are true figures.
    const stopped = (await hv.listDomains()).filter((r) => r.name !== 'Domain-0').pop()?.name ?? '';
    await hv.destroy(stopped);
    const { c, a } = await agentOn(t, sim, hv);
    const perDomain: boolean = hv !== qemu;
    // The typed client checks every answer against src/api's shapes.
    const rows = await c.vm.list();
    const running = rows.filter((r) => r.state === 'running');
    assert.ok(running.length >= 2, hv.uri);
    for (const r of running) {
      assert.equal(typeof r.cpuPct, 'number', `${hv.uri} ${r.name}: CPU % is there on every route`);
      for (const f of OPTIONAL) {
        if (perDomain) assert.equal(f in r, false, `${hv.uri} ${r.name}: ${f} absent, was ${String(r[f])}`);
        else assert.equal(typeof r[f], 'number', `${hv.uri} ${r.name}: ${f}`);
      }
    }
    assert.equal(rows.find((x) => x.name === stopped)?.state, 'shutoff');
    for (const r of rows.filter((x) => x.state === 'shutoff')) for (const f of OPTIONAL) assert.equal(r[f], 0, `${hv.uri} ${r.name}: a stopped VM's ${f} is a true 0`);
    const vm = running[0]?.name ?? '';
    const info = await c.vm.info(vm);
    assert.equal(info.latest !== undefined && 'diskRdBps' in info.latest, !perDomain, `${hv.uri}: vm.info's latest`);
    const st = await c.vm.stats(vm, 0);
    assert.ok(st.t.length >= 1 && st.cpuPct.length === st.t.length, `${hv.uri}: history`);
    for (const f of OPTIONAL) assert.equal(st[f] === undefined, perDomain, `${hv.uri}: vm.stats ${f}`);
    // Level 1 reads "unknown", not a full VM.
    for (const v of toLevel1Observation(level1Observation(a.core)).vms) if (perDomain) assert.equal(v.memUsedKiB, undefined, `${hv.uri} ${v.name}`);

    // The dashboard: vm.watch's packed NaN -> undefined -> '-' in MEM%, DISK and NET.
    const w = await c.vm.watch(0, { all: true });
    const names = new Map(w.added.map((i) => [i.key, i.name]));
    const samples = liveSamples(w, names);
    const s = samples.find((x) => x.name === vm);
    assert.ok(s, vm);
    for (const f of OPTIONAL) assert.equal(s[f] === undefined, perDomain, `${hv.uri}: watch ${f} = ${String(s[f])}`);
    const store = new ClusterStore();
    store.addNode('n', 'up');
    store.applyVmChanges('n', w.added.map(inventoryVm), []);
    store.setVmFigures('n', samples, w.seenAt);
    const rec = store.vms.get(`n/${vm}`);
    assert.ok(rec);
    const [head, row] = vmLines({ rows: [rec], selected: 0, top: 0, focused: false }, 140, 2, makeTheme(true), 'ascii', new Map()).lines.map((l) => l.replace(/\{\/?[a-z]+\}/g, ''));
    // Right-aligned columns: a cell runs from the end of the previous title to the end of its own.
    const end = (title: string): number => (head ?? '').indexOf(` ${title}`) + 1 + title.length;
    const order = ['CPU%', 'MEM%', 'DISK', 'NET'];
    const col = (title: string): string => (row ?? '').slice(end(order[order.indexOf(title) - 1] ?? '') + 1, end(title)).trim();
    for (const title of ['MEM%', 'DISK', 'NET']) {
      if (perDomain) assert.equal(col(title), '-', `${hv.uri} ${title}: ${row ?? ''}`);
      else assert.notEqual(col(title), '-', `${hv.uri} ${title}`);
    }
    await a.close();
  }
});
