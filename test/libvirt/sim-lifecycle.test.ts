/** Simulated hypervisor: inventory, lifecycle rules, XML, events, tuning, devices, snapshots (pure in-process: sim is a product feature). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimCluster, ManualClock, type SimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import type { DomainEvent } from '../../src/libvirt/hypervisor.js';

function cluster(o: { nodes?: number; vmsPerNode?: number; seed?: number } = {}): { c: SimCluster; clock: ManualClock; hv: SimHypervisor } {
  const clock = new ManualClock();
  const c = createSimCluster({ nodes: o.nodes ?? 2, vmsPerNode: o.vmsPerNode ?? 12, seed: o.seed ?? 11, clock });
  const hv = c.hypervisors[0];
  if (!hv) throw new Error('no node');
  return { c, clock, hv };
}

async function rejects(p: Promise<unknown>, code: number, re?: RegExp): Promise<LibvirtError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LibvirtError, `expected a LibvirtError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail('expected a rejection');
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function vmXml(name: string, extra = ''): string {
  return `<domain type='kvm'><name>${name}</name><memory unit='MiB'>512</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os><devices><interface type='network'><source network='default'/></interface>${extra}</devices></domain>`;
}

test('every node says it is simulated, with varied capacity and realistic VM names', async () => {
  const { c } = cluster({ nodes: 5, vmsPerNode: 10 });
  const infos = await Promise.all(c.hypervisors.map((h) => h.hostInfo()));
  for (const [i, info] of infos.entries()) {
    assert.equal(info.simulated, true);
    assert.equal(info.driver, 'Simulated');
    assert.equal(info.uri, `sim://node-0${i + 1}`);
    assert.match(info.hostname, /simulated/);
    assert.ok(info.node.cpus >= 16 && info.node.memoryKiB >= 64 * 1024 * 1024);
  }
  assert.ok(new Set(infos.map((i) => `${i.node.cpus}/${i.node.memoryKiB}`)).size > 1, 'hosts differ');
  const names = (await Promise.all(c.hypervisors.map((h) => h.listDomains()))).flat().map((d) => d.name);
  assert.equal(names.length, 50);
  assert.equal(new Set(names).size, 50, 'names are unique across the cluster');
  for (const n of names) assert.match(n, /^[a-z][a-z0-9-]*-\d{2,}$/);
  const states = await Promise.all(c.hypervisors.flatMap((h) => h.listDomains().then((l) => Promise.all(l.map((d) => h.domainInfo(d.name))))));
  const flat = states.flat().map((s) => s.state);
  assert.ok(flat.includes('running') && flat.includes('shutoff') && flat.includes('paused'));
  const xml = await c.hypervisors[0]!.domainXml(names[0]!);
  assert.match(xml, /<!-- Simulated by ve-manager/);
  assert.match(xml, /simulated='yes'/);
  assert.match(await c.hypervisors[0]!.capabilities(), /Simulated/);
  await c.close();
});

test('the same seed builds the same cluster; another seed another one', async () => {
  const a = cluster({ seed: 5 });
  const b = cluster({ seed: 5 });
  const d = cluster({ seed: 6 });
  const names = async (x: SimCluster): Promise<string> => JSON.stringify(await Promise.all(x.hypervisors.map(async (h) => [await h.hostInfo(), await h.listDomains()])));
  assert.equal(await names(a.c), await names(b.c));
  assert.notEqual(await names(a.c), await names(d.c));
  for (const x of [a, b]) x.clock.advance(30_000);
  const stats = async (x: SimCluster): Promise<string> => JSON.stringify(await x.hypervisors[1]!.allDomainStats());
  assert.equal(await stats(a.c), await stats(b.c));
  await Promise.all([a.c.close(), b.c.close(), d.c.close()]);
});

test('lifecycle follows libvirt rules and errors', async () => {
  const { c, clock, hv } = cluster();
  await hv.defineDomain(vmXml('lab-vm'));
  const info = await hv.domainInfo('lab-vm');
  assert.equal(info.state, 'shutoff');
  assert.equal(info.id, -1);
  await rejects(hv.resume('lab-vm'), ErrorCode.OPERATION_INVALID, /domain is not running/);
  await rejects(hv.shutdown('lab-vm'), ErrorCode.OPERATION_INVALID, /not running/);
  await hv.start('lab-vm');
  await rejects(hv.start('lab-vm'), ErrorCode.OPERATION_INVALID, /already running/);
  await rejects(hv.resume('lab-vm'), ErrorCode.OPERATION_INVALID, /Requested operation is not valid: domain is not paused/);
  const running = await hv.domainInfo('lab-vm');
  assert.equal(running.state, 'running');
  assert.ok(running.id > 0);
  await hv.suspend('lab-vm');
  assert.equal((await hv.domainInfo('lab-vm')).state, 'paused');
  await rejects(hv.suspend('lab-vm'), ErrorCode.OPERATION_INVALID);
  await hv.resume('lab-vm');
  // A guest shutdown takes a few simulated seconds.
  await hv.shutdown('lab-vm');
  assert.equal((await hv.domainInfo('lab-vm')).state, 'running');
  clock.advance(5_000);
  assert.equal((await hv.domainInfo('lab-vm')).state, 'shutoff');
  await hv.start('lab-vm');
  await hv.destroy('lab-vm');
  assert.equal((await hv.domainInfo('lab-vm')).state, 'shutoff');
  await rejects(hv.domainInfo('nope'), ErrorCode.NO_DOMAIN, /^Domain not found: no domain with matching name 'nope'$/);
  await hv.undefineDomain('lab-vm');
  await rejects(hv.domainInfo('lab-vm'), ErrorCode.NO_DOMAIN);
  // A transient domain disappears when it stops.
  await hv.createDomain(vmXml('transient-1'));
  assert.equal((await hv.domainInfo('transient-1')).persistent, false);
  await rejects(hv.setAutostart('transient-1', true), ErrorCode.OPERATION_INVALID);
  await hv.destroy('transient-1');
  await rejects(hv.domainInfo('transient-1'), ErrorCode.NO_DOMAIN);
  await c.close();
});

test('define rejects broken XML and bad values with libvirt-like XML errors, and keeps what was there', async () => {
  const { c, hv } = cluster();
  const before = (await hv.listDomains()).length;
  const e = await rejects(hv.defineDomain("<domain type='kvm'><name>x</name><memory>1024</memory>"), ErrorCode.XML_ERROR, /^XML error: \(domain_definition\):\d+: /);
  assert.ok(e.message.length > 30);
  await rejects(hv.defineDomain("<domain type='kvm'><memory>1048576</memory><vcpu>1</vcpu></domain>"), ErrorCode.XML_ERROR, /missing domain name/);
  await rejects(hv.defineDomain("<domain type='kvm'><name>a/b</name><memory>1048576</memory><vcpu>1</vcpu></domain>"), ErrorCode.XML_ERROR, /cannot contain '\/'/);
  await rejects(hv.defineDomain("<domain type='kvm'><name>m</name><memory>lots</memory><vcpu>1</vcpu></domain>"), ErrorCode.XML_ERROR, /memory/);
  await rejects(hv.defineDomain("<domain type='kvm'><name>m</name><memory>1048576</memory></domain>"), ErrorCode.XML_ERROR, /vcpu/);
  await rejects(hv.defineDomain("<domain type='kvm'><name>m</name><memory>1048576</memory><vcpu>0</vcpu></domain>"), ErrorCode.XML_ERROR, /vcpu/);
  await rejects(hv.defineDomain("<!DOCTYPE x [<!ENTITY a 'b'>]><domain type='kvm'><name>&a;</name><memory>1048576</memory><vcpu>1</vcpu></domain>"), ErrorCode.XML_ERROR);
  await rejects(hv.defineDomain('<network><name>n</name></network>'), ErrorCode.XML_ERROR, /expected root element <domain>/);
  assert.equal((await hv.listDomains()).length, before);
  // Redefinition keeps the uuid; another uuid under the same name is refused.
  const ref = await hv.defineDomain(vmXml('redef'));
  const again = await hv.defineDomain(vmXml('redef').replace('<vcpu>2</vcpu>', "<vcpu current='2'>4</vcpu>"));
  assert.equal(again.uuid, ref.uuid);
  assert.match(await hv.domainXml('redef'), /<vcpu placement='static' current='2'>4<\/vcpu>/);
  await rejects(hv.defineDomain(vmXml('redef').replace('<name>', '<uuid>11111111-2222-4333-8444-555555555555</uuid><name>')), ErrorCode.OPERATION_FAILED, /already exists with uuid/);
  // Entities stay text: nothing is expanded.
  await hv.defineDomain(vmXml('amp').replace('<devices>', '<description>a &amp; b</description><devices>'));
  assert.match(await hv.domainXml('amp'), /<description>a &amp; b<\/description>/);
  await c.close();
});

test('events reach subscribers: lifecycle, reboot, balloon-change; unsubscribe stops them', async () => {
  const { c, clock, hv } = cluster();
  const seen: DomainEvent[] = [];
  const off = await hv.onDomainEvent((e) => seen.push(e));
  await hv.defineDomain(vmXml('ev'));
  await hv.start('ev');
  await hv.suspend('ev');
  await hv.resume('ev');
  await hv.reboot('ev');
  await hv.setMemory('ev', 256 * 1024);
  await hv.shutdown('ev');
  clock.advance(6_000);
  await tick();
  const kinds = seen.filter((e) => e.domain.name === 'ev').map((e) => (e.kind === 'lifecycle' ? e.event : e.kind));
  assert.deepEqual(kinds, ['defined', 'started', 'suspended', 'resumed', 'reboot', 'balloon-change', 'shutdown', 'stopped']);
  assert.equal(seen.find((e) => e.kind === 'balloon-change')?.actualKiB, 256 * 1024);
  off();
  await hv.start('ev');
  await tick();
  assert.equal(seen.filter((e) => e.event === 'started').length, 1);
  await c.close();
});

test('vCPUs, memory and scheduler parameters: limits, live and config', async () => {
  const { c, hv } = cluster();
  await hv.defineDomain(vmXml('tune').replace('<vcpu>2</vcpu>', "<vcpu current='2'>4</vcpu>").replace("<memory unit='MiB'>512</memory>", "<memory unit='MiB'>2048</memory>"));
  await hv.setVcpus('tune', 3, { config: true });
  assert.equal((await hv.domainInfo('tune')).vcpus, 3);
  await rejects(hv.setVcpus('tune', 5, { config: true }), ErrorCode.INVALID_ARG, /greater than max/);
  await rejects(hv.setVcpus('tune', 2, { live: true }), ErrorCode.OPERATION_INVALID, /not running/);
  await hv.start('tune');
  await hv.setVcpus('tune', 4);
  assert.equal((await hv.domainInfo('tune')).vcpus, 4);
  assert.match(await hv.domainXml('tune', { inactive: true }), /current='3'/);
  await rejects(hv.setMemory('tune', 4 * 1024 * 1024), ErrorCode.INVALID_ARG, /higher than max/);
  await hv.setMemory('tune', 1024 * 1024);
  assert.equal((await hv.domainInfo('tune')).memKiB, 1024 * 1024);
  await rejects(hv.setMaxMemory('tune', 4 * 1024 * 1024), ErrorCode.OPERATION_INVALID);
  await hv.setSchedulerParams('tune', { cpuShares: 4096, vcpuQuota: 50000 });
  const p = await hv.getSchedulerParams('tune');
  assert.equal(p.cpuShares, 4096);
  assert.equal(p.vcpuQuota, 50000);
  await rejects(hv.setSchedulerParams('tune', { cpuShares: 1 }), ErrorCode.INVALID_ARG, /cpu_shares/);
  assert.match(await hv.domainXml('tune'), /<shares>4096<\/shares>/);
  await c.close();
});

test('devices: attach and detach disks and NICs, reflected in the XML and in the stats', async () => {
  const { c, hv } = cluster();
  await hv.defineDomain(vmXml('dev-x'));
  await hv.start('dev-x');
  const disk = "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/extra.qcow2'/><target dev='vdb' bus='virtio'/></disk>";
  await hv.attachDevice('dev-x', disk, { live: true, config: true });
  assert.match(await hv.domainXml('dev-x'), /<target dev='vdb' bus='virtio'\/>/);
  assert.match(await hv.domainXml('dev-x', { inactive: true }), /vdb/);
  await rejects(hv.attachDevice('dev-x', disk, { live: true }), ErrorCode.OPERATION_FAILED, /vdb already exists/);
  const nic = "<interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='backend'/><model type='virtio'/></interface>";
  await hv.attachDevice('dev-x', nic);
  const stats = (await hv.allDomainStats()).find((s) => s.name === 'dev-x');
  assert.deepEqual(stats?.block?.map((b) => b.name), ['vdb']);
  assert.equal(stats?.net?.length, 2);
  await hv.updateDevice('dev-x', nic.replace('backend', 'default'));
  assert.match(await hv.domainXml('dev-x'), /52:54:00:aa:bb:cc'\/>\s*<source network='default'\/>/);
  await hv.detachDevice('dev-x', nic);
  await hv.detachDevice('dev-x', disk, { live: true, config: true });
  assert.doesNotMatch(await hv.domainXml('dev-x'), /vdb|aa:bb:cc/);
  await rejects(hv.detachDevice('dev-x', disk), ErrorCode.OPERATION_FAILED, /not found/);
  await rejects(hv.attachDevice('dev-x', '<disk><oops></disk>'), ErrorCode.XML_ERROR);
  await rejects(hv.attachDevice('dev-x', "<interface type='network'><source network='nowhere'/></interface>"), ErrorCode.NO_NETWORK);
  await c.close();
});

test('snapshots: create, list, current, revert restores state and definition, delete reparents', async () => {
  const { c, clock, hv } = cluster();
  await hv.defineDomain(vmXml('snap'));
  await hv.start('snap');
  const s1 = await hv.snapshotCreate('snap', '<domainsnapshot><name>before-upgrade</name><description>clean</description></domainsnapshot>');
  assert.equal(s1, 'before-upgrade');
  await hv.setVcpus('snap', 1);
  clock.advance(2_000);
  const s2 = await hv.snapshotCreate('snap', '<domainsnapshot/>');
  assert.match(s2, /^\d+$/);
  await rejects(hv.snapshotCreate('snap', '<domainsnapshot><name>before-upgrade</name></domainsnapshot>'), ErrorCode.OPERATION_FAILED);
  const list = await hv.snapshotList('snap');
  assert.deepEqual(list.map((s) => [s.name, s.parent, s.current, s.state]), [['before-upgrade', undefined, false, 'running'], [s2, 'before-upgrade', true, 'running']]);
  assert.equal(await hv.snapshotCurrent('snap'), s2);
  await hv.destroy('snap');
  await hv.snapshotRevert('snap', 'before-upgrade');
  const info = await hv.domainInfo('snap');
  assert.equal(info.state, 'running');
  assert.equal(info.vcpus, 2);
  assert.equal(await hv.snapshotCurrent('snap'), 'before-upgrade');
  await hv.snapshotDelete('snap', 'before-upgrade');
  assert.deepEqual((await hv.snapshotList('snap')).map((s) => [s.name, s.parent]), [[s2, undefined]]);
  assert.equal(await hv.snapshotCurrent('snap'), null);
  await rejects(hv.snapshotRevert('snap', 'gone'), ErrorCode.NO_DOMAIN_SNAPSHOT, /no domain snapshot with matching name 'gone'/);
  await hv.destroy('snap');
  await rejects(hv.undefineDomain('snap'), ErrorCode.OPERATION_INVALID, /snapshots/);
  await hv.undefineDomain('snap', { snapshots: true });
  await c.close();
});

test('a closed connection refuses calls with a typed error', async () => {
  const { c, hv } = cluster();
  assert.equal(hv.isAlive(), true);
  await c.close();
  assert.equal(hv.isAlive(), false);
  await assert.rejects(hv.listDomains(), /closed/);
});

test('the XML a VM shows can be sent back unchanged (the edit-in-$EDITOR round trip)', async () => {
  const { c, hv } = cluster({ nodes: 1, vmsPerNode: 12 });
  for (const d of await hv.listDomains()) {
    const x = await hv.domainXml(d.name, { inactive: true });
    const ref = await hv.defineDomain(x);
    assert.equal(ref.uuid, d.uuid);
    assert.equal(await hv.domainXml(d.name, { inactive: true }), x);
    await hv.defineDomain(await hv.domainXml(d.name));
  }
  await c.close();
});
