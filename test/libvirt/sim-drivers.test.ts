/**
 * Simulated nodes of three kinds (QEMU, LXC, Xen) answer as the real libvirt drivers do, and the
 * capability layer (src/libvirt/capabilities.ts) learns each one's limits from those answers alone:
 * the same code path the agent takes in `vem demo` (collector -> domainStats -> probe), and the
 * agent's own XML-RPC methods on top (node.info capabilities, a refused vm.migrate job).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimCluster, ManualClock, type SimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { capabilitiesOf, domainStats, probeCapabilities } from '../../src/libvirt/capabilities.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';

function mixed(): { sim: SimCluster; clock: ManualClock; qemu: SimHypervisor; lxc: SimHypervisor; xen: SimHypervisor; xen2: SimHypervisor } {
  const clock = new ManualClock();
  const sim = createSimCluster({ nodes: 4, vmsPerNode: 4, seed: 5, clock, drivers: ['qemu', 'lxc', 'xen', 'xen'] });
  const [qemu, lxc, xen, xen2] = sim.hypervisors;
  assert.ok(qemu && lxc && xen && xen2);
  return { sim, clock, qemu, lxc, xen, xen2 };
}

async function firstGuest(hv: SimHypervisor): Promise<string> {
  for (const r of await hv.listDomains()) if (r.name !== 'Domain-0' && (await hv.domainInfo(r.name)).state === 'running') return r.name;
  throw new Error(`no running guest on ${hv.uri}`);
}

/** Asserts libvirt's NO_SUPPORT, reworded to name the driver and node, with the API libvirt names. */
async function refused(p: Promise<unknown>, driver: string, node: string, api: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LibvirtError, String(e));
    assert.equal(e.code, ErrorCode.NO_SUPPORT);
    assert.match(e.message, new RegExp(`not supported by the ${driver} driver on ${node}\\.simulated`));
    assert.match(e.message, api);
    return true;
  });
}

test('each kind says what it is (still SIMULATED), and is named for it; the default cluster is unchanged', async () => {
  const { sim, qemu, lxc, xen } = mixed();
  const h = await Promise.all([qemu, lxc, xen].map((hv) => hv.hostInfo()));
  assert.deepEqual(h.map((x) => [x.driver, x.hypervisorVersion, x.simulated, x.hostname]), [
    ['Simulated', '0.1.0', true, 'node-01.simulated'],
    // LXC's virConnectGetVersion is the host kernel's release; libxl's is Xen's own version.
    ['LXC', '6.1.0', true, 'lxc-01.simulated'],
    ['Xen', '4.17.0', true, 'xen-01.simulated'],
  ]);
  assert.match(await lxc.capabilities(), /<os_type>exe<\/os_type>[\s\S]*<domain type='lxc'\/>/);
  assert.doesNotMatch(await lxc.capabilities(), /migration_features/);
  assert.match(await xen.capabilities(), /<domain type='xen'\/>[\s\S]*<os_type>xen<\/os_type>/);
  await sim.close();
  const plain = createSimCluster({ nodes: 2, vmsPerNode: 2, seed: 5, clock: new ManualClock() });
  assert.deepEqual(plain.hypervisors.map((hv) => hv.uri), ['sim://node-01', 'sim://node-02']);
  assert.equal((await plain.hypervisors[0]?.hostInfo())?.driver, 'Simulated');
  await plain.close();
  assert.throws(() => createSimCluster({ nodes: 1, drivers: ['vbox' as 'qemu'] }), /unknown simulated driver 'vbox'/);
});

test('the capability layer learns each driver from its answers: stats route, migration kinds, snapshots', async () => {
  const { sim, qemu, lxc, xen } = mixed();
  for (const hv of [qemu, lxc, xen]) {
    const stats = await domainStats(hv);
    assert.equal(stats.length, (await hv.listDomains()).length, hv.uri);
  }
  assert.equal(capabilitiesOf(qemu).statsRoute, 'bulk');
  // Neither LXC nor libxl has virConnectGetAllDomainStats: GetInfo per domain, plus the per-domain
  // stats calls both drivers have (memory, interface, block), with what each one's memory stats give.
  for (const hv of [lxc, xen]) {
    const c = capabilitiesOf(hv);
    assert.equal(c.statsRoute, 'per-domain');
    assert.match(c.unsupported['bulk-stats'] ?? '', /virConnectGetAllDomainStats/);
    const all = await domainStats(hv);
    const s = all.find((x) => x.state?.state === 'running' && x.name !== 'Domain-0');
    assert.ok(s?.cpu && s.cpu.timeNs > 0, 'CPU time of a running guest');
    assert.ok(s.block, `${hv.uri}: block figures from virDomainBlockStats`);
    assert.equal(s.net?.length, (await hv.domainXml(s.name)).match(/<interface /g)?.length ?? 0, `${hv.uri}: one record per interface`);
    // LXC's memory stats carry the cgroup's rss; libxl's only actual and available (no memory in use).
    assert.equal(s.balloon?.rssKiB !== undefined, hv === lxc, `${hv.uri}: rss`);
    assert.equal(all.find((x) => x.state?.state === 'shutoff')?.net, undefined, 'a stopped VM is asked nothing beyond GetInfo');
  }
  assert.deepEqual(Object.keys(capabilitiesOf(qemu).unsupported), []);
  assert.deepEqual(Object.keys(capabilitiesOf(lxc).unsupported).sort(), ['bulk-stats', 'migration', 'offline-migration', 'snapshots']);
  // libxl migrates live peer to peer, never offline, and has no snapshots.
  assert.deepEqual(Object.keys(capabilitiesOf(xen).unsupported).sort(), ['bulk-stats', 'offline-migration', 'snapshots']);
  assert.equal(await lxc.driverSupports('migration-p2p'), false);
  assert.equal(await xen.driverSupports('migration-p2p'), true);
  assert.equal(await xen.driverSupports('migration-offline'), false);
  await sim.close();
});

test('an LXC container cannot migrate, snapshot, change vCPUs, reset or run agent commands; what LXC has works', async () => {
  const { sim, lxc } = mixed();
  const vm = await firstGuest(lxc);
  await probeCapabilities(lxc, vm);
  await refused(lxc.migrate(vm, 'sim://node-01', { live: true }), 'LXC', 'lxc-01', /live migration is .*virDomainMigratePerform3Params/);
  await refused(lxc.snapshotCreate(vm, '<domainsnapshot/>'), 'LXC', 'lxc-01', /snapshots are .*virDomainSnapshotCreateXML/);
  await refused(lxc.setVcpus(vm, 1), 'LXC', 'lxc-01', /changing vCPUs is .*virDomainSetVcpusFlags/);
  await refused(lxc.reset(vm), 'LXC', 'lxc-01', /a hard reset is .*virDomainReset/);
  await refused(lxc.guestAgentCommand(vm, '{"execute":"guest-ping"}'), 'LXC', 'lxc-01', /virDomainQemuAgentCommand/);
  assert.deepEqual(Object.keys(capabilitiesOf(lxc).unsupported).sort(), ['guest-agent', 'migration', 'offline-migration', 'reset', 'snapshots', 'vcpus']);
  assert.equal((await lxc.listDomains()).length, 4, 'nothing moved');
  // The cgroup memory limit, scheduler shares, freezer and console are in lxc_driver.c.
  await lxc.setMemory(vm, 1024 * 1024);
  assert.equal((await lxc.domainInfo(vm)).memKiB, 1024 * 1024);
  assert.deepEqual(Object.keys(await lxc.getSchedulerParams(vm)).sort(), ['cpuShares', 'vcpuPeriod', 'vcpuQuota']);
  await lxc.suspend(vm);
  await lxc.resume(vm);
  (await lxc.openConsole(vm)).destroy();
  const xml = await lxc.domainXml(vm);
  assert.match(xml, /<domain type='lxc'/);
  assert.match(xml, /<type arch='x86_64'>exe<\/type>/);
  assert.doesNotMatch(xml, /memballoon|<disk /);
  // A definition of another domain type is refused, as libvirt's capabilities lookup does.
  await assert.rejects(lxc.defineDomain("<domain type='kvm'><name>k</name><memory unit='MiB'>64</memory><vcpu>1</vcpu></domain>"), /could not find capabilities for domaintype=kvm/);
  await sim.close();
});

test('a Xen node lists Domain-0 (id 0) which refuses lifecycle changes and migration; guests get Xen MACs and xvd disks; live moves go Xen to Xen only', async () => {
  const { sim, clock, qemu, xen, xen2 } = mixed();
  const refs = await xen.listDomains();
  const dom0 = refs.find((r) => r.name === 'Domain-0');
  assert.deepEqual(dom0, { name: 'Domain-0', uuid: '00000000-0000-0000-0000-000000000000', id: 0 });
  assert.equal((await xen.domainInfo('Domain-0')).state, 'running');
  for (const op of [() => xen.destroy('Domain-0'), () => xen.shutdown('Domain-0'), () => xen.suspend('Domain-0'), () => xen.undefineDomain('Domain-0')]) {
    await assert.rejects(op(), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_INVALID && /Domain-0 does not support requested operation/.test(e.message));
  }
  await assert.rejects(xen.migrate('Domain-0', 'sim://xen-02', { live: true }), /Domain-0 cannot be migrated/);
  for (const r of refs) {
    const xml = await xen.domainXml(r.name);
    for (const m of xml.matchAll(/mac address='([^']+)'/g)) assert.match(m[1] ?? '', /^00:16:3e:/, `${r.name}: Xen's OUI`);
    for (const t of xml.matchAll(/<target dev='(\w+)' bus='(\w+)'/g)) if (!/^(sd|hd)/.test(t[1] ?? '')) assert.deepEqual([t[1]?.slice(0, 3), t[2]], ['xvd', 'xen']);
  }
  const vm = await firstGuest(xen);
  await assert.rejects(xen.migrate(vm, 'sim://node-01', { live: true }), /could not find capabilities for domaintype=xen/);
  await assert.rejects(xen.migrate(vm, 'sim://xen-02', { live: false, persistOnTarget: true }), (e: unknown) => e instanceof LibvirtError && e.code === 74 && /offline migration is not supported by the source host/.test(e.message));
  await refused(xen.snapshotList(vm), 'Xen', 'xen-01', /virDomainListAllSnapshots/);
  // The credit scheduler: weight and cap, and a cgroup parameter is refused as libxl refuses it.
  assert.deepEqual(await xen.getSchedulerParams(vm), { weight: 256, cap: 0 });
  await xen.setSchedulerParams(vm, { weight: 512, cap: 50 });
  assert.deepEqual(await xen.getSchedulerParams(vm), { weight: 512, cap: 50 });
  await assert.rejects(xen.setSchedulerParams(vm, { cpuShares: 2048 }), (e: unknown) => e instanceof LibvirtError && e.code === 74 && /parameter 'cpu_shares' not supported/.test(e.message));
  const done = xen.migrate(vm, 'sim://xen-02', { live: true, persistOnTarget: true, undefineSource: true, bandwidthMiBs: 2000 });
  for (let i = 0; i < 600 && !(await xen2.listDomains()).some((r) => r.name === vm && r.id > 0); i++) clock.advance(1000);
  await done;
  assert.equal((await xen2.domainInfo(vm)).state, 'running');
  assert.ok(!(await xen.listDomains()).some((r) => r.name === vm));
  assert.equal((await qemu.listDomains()).some((r) => r.name === vm), false);
  await sim.close();
});

test('through the agent: node.info carries what the LXC driver lacks, and a container migration job fails naming LXC', async (t) => {
  const { sim, lxc } = mixed();
  const a = await startAgent({ hypervisor: lxc, listen: '127.0.0.1:0', pollMs: 60_000 });
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    await sim.close();
  });
  await a.collectNow();
  const info = (await c.call('node.info')) as { driver: string; simulated: boolean; capabilities?: { statsRoute?: string; unsupported: Record<string, string> } };
  assert.equal(info.driver, 'LXC');
  assert.equal(info.simulated, true);
  assert.equal(info.capabilities?.statsRoute, 'per-domain');
  assert.match(info.capabilities?.unsupported['migration'] ?? '', /no peer-to-peer migration/);
  const vms = (await c.call('vm.list')) as Array<{ name: string; state: string }>;
  assert.equal(vms.length, 4, 'every container listed (per-domain route)');
  const vm = vms.find((v) => v.state === 'running')?.name ?? '';
  const id = (await c.call('vm.migrate', vm, 'sim://node-01')) as string;
  let job: { status: string; reason?: string } = { status: 'running' };
  for (let i = 0; i < 50 && job.status === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    job = (await c.call('job.get', id)) as typeof job;
  }
  assert.equal(job.status, 'failed');
  assert.match(job.reason ?? '', /live migration is not supported by the LXC driver on lxc-01\.simulated/);
});
