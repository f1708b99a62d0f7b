/**
 * A figure the node's driver cannot give is absent, not zero (issue 12). LXC and Xen have no
 * virConnectGetAllDomainStats: the per-domain route reads GetInfo and, for a running VM, the
 * per-domain stats calls the driver has. LXC has them all (memory stats with the cgroup's rss,
 * veth interface stats, the blkio cgroup's block total), so a container's figures are all there;
 * libxl's memory stats have no unused or rss, so a Xen guest's memory in use stays absent while
 * its disk and network rates come. A driver without the calls (libvirt's LXC before 1.2.2 had no
 * memory or block stats) leaves them absent: out of vm.list, vm.stats and vm.info, NaN in
 * vm.watch's packed columns, '-' in the dashboard's VM table, where it showed 0 B/s and MEM% 100 %.
 * A stopped VM's zeros are true figures on any driver.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { client, type Client } from '../../src/api/client.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { createSimCluster, type SimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
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

type Figure = typeof OPTIONAL[number];
const ALL: Figure[] = [...OPTIONAL];

/** What libvirt answers where a driver's table lacks the call. */
function lacking(api: string): () => Promise<never> {
  return () => Promise.reject(new LibvirtError(`this function is not supported by the connection driver: ${api}`, ErrorCode.NO_SUPPORT, 20));
}

test('per-domain route: LXC gives every figure, Xen all but memory in use, a driver without the calls none; each absent one absent on every wire path', async (t) => {
  const sim = createSimCluster({ nodes: 4, vmsPerNode: 5, seed: 7, drivers: ['qemu', 'lxc', 'xen', 'lxc'] });
  t.after(() => sim.close());
  const [qemu, lxc, xen, oldLxc] = sim.hypervisors;
  assert.ok(qemu && lxc && xen && oldLxc);
  // An LXC node whose libvirt predates the per-domain stats calls: each refused as libvirt refuses it.
  Object.assign(oldLxc, {
    domainMemoryStats: lacking('virDomainMemoryStats'),
    domainInterfaceStats: lacking('virDomainInterfaceStats'),
    domainBlockStats: lacking('virDomainBlockStats'),
  });
  const cases: Array<{ hv: SimHypervisor; present: Figure[]; route: 'bulk' | 'per-domain' }> = [
    { hv: qemu, present: ALL, route: 'bulk' },
    { hv: lxc, present: ALL, route: 'per-domain' },
    { hv: xen, present: ['diskRdBps', 'diskWrBps', 'netRxBps', 'netTxBps'], route: 'per-domain' },
    { hv: oldLxc, present: [], route: 'per-domain' },
  ];
  for (const { hv, present, route } of cases) {
    const has = (f: Figure): boolean => present.includes(f);
    // One VM stopped before the agent starts (never seen running): its zeros are true figures.
    const stopped = (await hv.listDomains()).filter((r) => r.name !== 'Domain-0').pop()?.name ?? '';
    await hv.destroy(stopped);
    const { c, a } = await agentOn(t, sim, hv);
    const info0 = (await c.node.info()) as { capabilities?: { statsRoute?: string; unsupported: Record<string, string> } };
    assert.equal(info0.capabilities?.statsRoute, route, hv.uri);
    if (hv === oldLxc) assert.deepEqual(Object.keys(info0.capabilities?.unsupported ?? {}).filter((k) => k.endsWith('-stats')).sort(), ['block-stats', 'bulk-stats', 'interface-stats', 'memory-stats']);
    // The typed client checks every answer against src/api's shapes.
    const rows = await c.vm.list();
    const running = rows.filter((r) => r.state === 'running');
    assert.ok(running.length >= 2, hv.uri);
    for (const r of running) {
      assert.equal(typeof r.cpuPct, 'number', `${hv.uri} ${r.name}: CPU % is there on every route`);
      for (const f of OPTIONAL) {
        if (has(f)) assert.equal(typeof r[f], 'number', `${hv.uri} ${r.name}: ${f}`);
        else assert.equal(f in r, false, `${hv.uri} ${r.name}: ${f} absent, was ${String(r[f])}`);
      }
      // Memory in use is a share of the VM's memory, never all of it by construction (MEM% was 100 %).
      if (has('memUsedKiB')) assert.ok((r.memUsedKiB ?? 0) > 0, `${hv.uri} ${r.name}: memUsedKiB ${String(r.memUsedKiB)}`);
    }
    assert.equal(rows.find((x) => x.name === stopped)?.state, 'shutoff');
    for (const r of rows.filter((x) => x.state === 'shutoff')) for (const f of OPTIONAL) assert.equal(r[f], 0, `${hv.uri} ${r.name}: a stopped VM's ${f} is a true 0`);
    const vm = running[0]?.name ?? '';
    const info = await c.vm.info(vm);
    for (const f of OPTIONAL) assert.equal(info.latest !== undefined && f in info.latest, has(f), `${hv.uri}: vm.info's latest ${f}`);
    const st = await c.vm.stats(vm, 0);
    assert.ok(st.t.length >= 1 && st.cpuPct.length === st.t.length, `${hv.uri}: history`);
    for (const f of OPTIONAL) assert.equal(st[f] === undefined, !has(f), `${hv.uri}: vm.stats ${f}`);
    // Level 1 reads "unknown", not a full VM.
    for (const v of toLevel1Observation(level1Observation(a.core)).vms) if (!has('memUsedKiB')) assert.equal(v.memUsedKiB, undefined, `${hv.uri} ${v.name}`);

    // The dashboard: vm.watch's packed NaN -> undefined -> '-' in MEM%, DISK and NET.
    const w = await c.vm.watch(0, { all: true });
    const names = new Map(w.added.map((i) => [i.key, i.name]));
    const samples = liveSamples(w, names);
    const s = samples.find((x) => x.name === vm);
    assert.ok(s, vm);
    for (const f of OPTIONAL) assert.equal(s[f] === undefined, !has(f), `${hv.uri}: watch ${f} = ${String(s[f])}`);
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
    const figuresOf: Record<string, Figure[]> = { 'MEM%': ['memUsedKiB'], DISK: ['diskRdBps', 'diskWrBps'], NET: ['netRxBps', 'netTxBps'] };
    for (const [title, fs] of Object.entries(figuresOf)) {
      if (fs.some(has)) assert.notEqual(col(title), '-', `${hv.uri} ${title}: ${row ?? ''}`);
      else assert.equal(col(title), '-', `${hv.uri} ${title}: ${row ?? ''}`);
    }
    await a.close();
  }
});
