// The contract: every method declared in src/api is called on a real agent over the
// simulated hypervisor (XML-RPC over loopback), and every answer must fit its declared
// result type exactly (strict: no member the declaration lacks, none it requires missing).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, declared, problems } from '../../src/api/index.js';
import { client, type Caller } from '../../src/api/client.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import type { XmlRpcValue } from '../../src/common/xmlrpc/value.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';

test('every declared method answers its declared type on the simulated agent', async (t) => {
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 3, seed: 11 });
  const agent = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 100 });
  const rpc = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    rpc.close();
    await agent.close();
    sim.close();
  });
  const answered = new Map<string, XmlRpcValue>();
  const wrong: string[] = [];
  const caller: Caller = {
    call: async (method, ...params) => {
      const v = await rpc.call(method, ...params);
      const m = declared.get(method);
      if (m) wrong.push(...problems(m.result, v, { strict: true }, method));
      answered.set(method, v);
      return v;
    },
  };
  const c = client(caller);
  await agent.collectNow();
  await new Promise((r) => setTimeout(r, 250));
  await agent.collectNow();

  // system
  assert.ok((await c.system.listMethods()).includes('vm.list'));
  assert.match(await c.system.methodHelp('vm.list'), /Every VM on this node/);
  assert.deepEqual(await c.system.methodSignature('vm.setMemory'), api.vm.setMemory.signature);
  assert.equal((await c.system.multicall([{ methodName: 'node.info', params: [] }])).length, 1);

  // node
  const info = await c.node.info();
  assert.equal(info.simulated, true);
  assert.ok((await c.node.stats(0)).t.length > 0);
  await c.node.stats(0, 2);
  // Every simulated VM's disks, sized (the sim's volumes are in its pools), and the pools that would take a copy.
  const ms = await c.node.migrationStorage();
  assert.ok(ms.pools.some((p) => p.path === '/var/lib/libvirt/images' && p.volumes.length > 0));
  assert.ok(ms.vms.length > 0 && ms.vms.every((v) => v.disks.some((d) => d.capacity !== undefined && d.allocation !== undefined)));

  // vm: read
  const vms = await c.vm.list();
  assert.equal(vms.length, 3);
  const [a, b, d] = vms.map((v) => v.name) as [string, string, string];
  await c.vm.list({ active: true });
  const w = await c.vm.watch(0);
  assert.equal(w.full, true);
  assert.equal(w.added.length, 3);
  await c.vm.watch(w.version, { all: true, sort: 'cpuPct', top: 2, vms: [vms[0]?.name ?? ''] });
  assert.equal((await c.vm.info(a)).name, a);
  await c.vm.stats(a, 0);
  const xml = await c.vm.xml(a, { inactive: true });
  await c.vm.schedinfo(a);

  // vm: change
  assert.equal(await c.vm.setSchedinfo(a, { cpuShares: 512 }), true);
  await c.vm.setVcpus(a, 1, { live: true });
  const row = vms[0] as (typeof vms)[0];
  await c.vm.setMemory(a, row.memKiB);
  await c.vm.setAutostart(a, false);
  await c.vm.suspend(a);
  await c.vm.resume(a);
  await c.vm.reboot(a);
  await c.vm.reset(a);
  await c.vm.snapshotCreate(a, 'before');
  assert.equal((await c.vm.snapshotList(a))[0]?.name, 'before');
  assert.equal(await c.vm.snapshotCurrent(a), 'before');
  await c.vm.snapshotRevert(a, 'before');
  await c.vm.snapshotDelete(a, 'before');
  const disk = "<disk type='file' device='cdrom'><source file='/var/lib/libvirt/iso/x.iso'/><target dev='sdz' bus='sata'/><readonly/></disk>";
  await c.vm.attachDevice(a, disk, { live: true, config: true });
  await c.vm.updateDevice(a, disk.replace('x.iso', 'y.iso'), { config: true });
  await c.vm.detachDevice(a, disk, { live: true, config: true });
  const copyXml = xml.replace(/<name>[^<]*<\/name>/, '<name>contract-copy</name>').replace(/<uuid>[^<]*<\/uuid>/, '').replace(/<mac address=[^/]*\/>/g, '');
  assert.equal((await c.vm.define(copyXml)).name, 'contract-copy');
  await c.vm.redefine('contract-copy', (await c.vm.xml('contract-copy', { inactive: true })).replace('</domain>', '<description>redefined</description></domain>').replace(/<description>[^<]*<\/description>(?=[\s\S]*<description>redefined)/, ''));
  await c.vm.undefine('contract-copy', { snapshots: true });

  await c.vm.destroy(b);
  await c.vm.setMaxMemory(b, (vms[1] as (typeof vms)[0]).maxMemKiB);
  await c.vm.shutdown(d);
  const cloneJob = await c.vm.clone(b, 'contract-clone');
  for (let i = 0; i < 100 && (await c.job.get(cloneJob)).status === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await c.job.get(cloneJob)).status, 'completed');
  // templates: a stopped VM marked, a VM provisioned from it (a job), the mark removed
  await c.template.list();
  assert.equal(await c.template.mark(b, { os: 'contract-os' }), true);
  assert.ok((await c.template.list()).some((x) => x.name === b && x.kind === 'vm' && x.os === 'contract-os'));
  const provJob = await c.template.provision({ name: 'contract-prov', template: b, networks: [], start: false, sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLE contract'] });
  for (let i = 0; i < 100 && (await c.job.get(provJob)).status === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
  const prov = await c.job.get(provJob);
  assert.equal(prov.status, 'completed', prov.reason);
  assert.equal(prov.provision?.seed.tool, 'SIMULATED');
  assert.equal(await c.template.unmark(b), true);
  await c.vm.start(b);

  const migration = await c.vm.migrate(a, 'sim://node-02', { live: true, bandwidthMiBs: 1 });
  const cancelled = await c.job.cancel(migration).catch(() => c.job.get(migration));
  assert.ok(['cancelled', 'completed', 'running'].includes(cancelled.status));
  assert.ok((await c.job.list()).length >= 2);

  const page = await c.events.poll(0, 0);
  assert.ok(page.events.length > 0);
  for (const e of page.events) assert.equal(typeof e.detail, 'object', 'an event detail is a struct');

  // storage
  const pools = await c.storage.pools();
  const pool = (pools[0] as (typeof pools)[0]).name;
  assert.match(await c.storage.poolXml(pool), /<pool/);
  await c.storage.volumes(pool);
  await c.storage.refresh(pool);
  const vol = await c.storage.createVolume(pool, "<volume><name>contract.qcow2</name><capacity unit='bytes'>1048576</capacity><target><format type='qcow2'/></target></volume>");
  await c.storage.deleteVolume(pool, vol.name);
  assert.equal(await c.storage.definePool("<pool type='dir'><name>contract-pool</name><target><path>/srv/contract-pool</path></target></pool>"), 'contract-pool');
  assert.equal(await c.storage.buildPool('contract-pool'), true);
  assert.equal(await c.storage.startPool('contract-pool'), true);
  assert.equal((await c.storage.pools()).find((p) => p.name === 'contract-pool')?.state, 'running');

  // networks
  await c.network.list();
  const netName = await c.network.define("<network><name>contract-net</name><bridge name='virbr77'/><ip address='10.77.0.1' netmask='255.255.255.0'/></network>");
  assert.match(await c.network.xml(netName), /contract-net/);
  await c.network.start(netName);
  await c.network.setAutostart(netName, true);
  await c.network.stop(netName);
  await c.network.undefine(netName);
  const made = await c.network.create("<network><name>contract-net2</name><bridge name='virbr78'/><ip address='10.78.0.1' netmask='255.255.255.0'><dhcp><range start='10.78.0.10' end='10.78.0.99'/></dhcp></ip></network>");
  assert.equal((await c.network.list()).find((n) => n.name === made)?.active, true);
  const leases = await c.network.dhcpLeases('default');
  assert.ok(leases.length > 0 && leases.every((l) => /^192\.168\.122\./.test(l.ipAddress) && l.prefix === 24), JSON.stringify(leases));
  assert.equal(await c.network.delete(made), true);
  assert.ok(!(await c.network.list()).some((n) => n.name === made));

  // guests (the simulator's guest agents)
  const g = b;
  await c.guest.status(g);
  await c.guest.ping(g);
  await c.guest.info(g);
  const procs = await c.guest.processes(g);
  await c.guest.users(g);
  await c.guest.sessions(g);
  const svcs = await c.guest.services(g);
  await c.guest.filesystems(g);
  await c.guest.interfaces(g);
  await c.guest.policy(g);
  const victim = procs.processes.find((p) => p.pid > 100) ?? procs.processes[procs.processes.length - 1];
  await c.guest.signal(g, victim?.pid ?? 1, 'SIGTERM');
  await c.guest.userAdd(g, 'contract', { shell: '/bin/sh', password: 'pw' });
  await c.guest.userLock(g, 'contract');
  await c.guest.userUnlock(g, 'contract');
  await c.guest.userSetPassword(g, 'contract', 'pw2');
  await c.guest.userRemove(g, 'contract');
  await c.guest.serviceAction(g, svcs.services[0]?.name ?? 'sshd', 'restart');

  // level-1 balancer
  await c.balancer.level1Status();
  await c.balancer.level1Enable({ caps: false });
  await agent.collectNow();
  await c.balancer.level1DryRun();
  await c.balancer.level1Disable();

  // lease
  const lease = await c.lease.acquire('balance', 'contract', 'level-2 balancing', 5);
  assert.equal((await c.lease.renew(lease.token ?? '', 5)).holder, 'contract');
  assert.equal((await c.lease.list()).length, 1);
  assert.equal(await c.lease.release(lease.token ?? ''), true);

  assert.deepEqual(wrong, [], 'answers that do not fit their declared type');
  const missed = [...declared.keys()].filter((n) => !answered.has(n));
  assert.deepEqual(missed, [], 'declared methods the contract test did not call');
  assert.deepEqual(
    (await rpc.call('system.listMethods')) as string[],
    [...declared.keys()].sort(),
    'the agent offers exactly the declared methods',
  );
});
