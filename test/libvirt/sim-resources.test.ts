/** Simulated hypervisor: storage pools and volumes, virtual networks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimCluster, ManualClock } from '../../src/libvirt/sim/index.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';

const isCode = (code: number) => (e: unknown): boolean => e instanceof LibvirtError && e.code === code;

test('pools hold the VMs\' volumes and ISO images; volumes can be created and deleted', async () => {
  const c = createSimCluster({ nodes: 1, vmsPerNode: 10, seed: 12, clock: new ManualClock() });
  const hv = c.hypervisors[0]!;
  const pools = await hv.listPools();
  assert.deepEqual(pools.map((p) => p.name).sort(), ['default', 'fast-ssd', 'iso']);
  for (const p of pools) {
    assert.equal(p.state, 'running');
    assert.equal(p.capacity, p.allocation + p.available);
  }
  const images = await hv.listVolumes('default');
  const vms = await hv.listDomains();
  for (const d of vms) assert.ok(images.some((v) => v.name === `${d.name}.qcow2`), `${d.name} has its image`);
  const isos = await hv.listVolumes('iso');
  assert.ok(isos.length >= 3 && isos.every((v) => v.format === 'iso' && v.path.endsWith('.iso')));
  const xml = await hv.domainXml(vms[0]!.name);
  assert.ok(xml.includes(`/var/lib/libvirt/images/${vms[0]!.name}.qcow2`));
  assert.match(await hv.poolXml('default'), /Simulated by ve-manager[\s\S]*<pool type='dir'>[\s\S]*<path>\/var\/lib\/libvirt\/images<\/path>/);

  const before = (await hv.listPools()).find((p) => p.name === 'default')!;
  const vol = await hv.createVolume('default', "<volume><name>new.qcow2</name><capacity unit='G'>10</capacity><target><format type='qcow2'/></target></volume>");
  assert.equal(vol.capacity, 10 * 1024 ** 3);
  assert.equal(vol.path, '/var/lib/libvirt/images/new.qcow2');
  const raw = await hv.createVolume('default', "<volume><name>raw.img</name><capacity unit='M'>100</capacity></volume>");
  assert.equal(raw.allocation, 100 * 1024 ** 2);
  const after = (await hv.listPools()).find((p) => p.name === 'default')!;
  assert.equal(after.allocation, before.allocation + vol.allocation + raw.allocation);
  await assert.rejects(hv.createVolume('default', "<volume><name>new.qcow2</name><capacity>1</capacity></volume>"), /exists already/);
  await assert.rejects(hv.createVolume('default', '<volume><name>x</name></volume>'), isCode(ErrorCode.XML_ERROR));
  await assert.rejects(hv.createVolume('default', "<volume><name>big</name><capacity unit='T'>900</capacity><allocation unit='T'>900</allocation></volume>"), /Not enough space/);
  await assert.rejects(hv.createVolume('nopool', '<volume><name>x</name><capacity>1</capacity></volume>'), isCode(ErrorCode.NO_STORAGE_POOL));
  const copy = await hv.cloneVolume('default', '<volume><name>copy.qcow2</name></volume>', { pool: 'default', volume: 'new.qcow2' });
  assert.deepEqual([copy.capacity, copy.allocation, copy.format, copy.path], [vol.capacity, vol.allocation, 'qcow2', '/var/lib/libvirt/images/copy.qcow2']);
  await assert.rejects(hv.cloneVolume('default', '<volume><name>copy.qcow2</name></volume>', { pool: 'default', volume: 'new.qcow2' }), /exists already/);
  await assert.rejects(hv.cloneVolume('default', '<volume><name>c2</name></volume>', { pool: 'default', volume: 'gone.qcow2' }), isCode(ErrorCode.NO_STORAGE_VOL));
  await assert.rejects(hv.cloneVolume('default', "<volume><name>c3</name><capacity unit='M'>1</capacity></volume>", { pool: 'default', volume: 'new.qcow2' }), isCode(ErrorCode.XML_ERROR));
  await hv.deleteVolume('default', 'copy.qcow2');
  await hv.deleteVolume('default', 'new.qcow2');
  await assert.rejects(hv.deleteVolume('default', 'new.qcow2'), isCode(ErrorCode.NO_STORAGE_VOL));
  await hv.poolRefresh('default');
  // A disk created in a pool can back a new VM; a missing image in a pool directory cannot.
  const vmXml = (img: string): string =>
    `<domain type='kvm'><name>from-${img}</name><memory unit='MiB'>512</memory><vcpu>1</vcpu><devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/${img}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  await hv.defineDomain(vmXml('raw.img'));
  await hv.start('from-raw.img');
  await hv.defineDomain(vmXml('missing.qcow2'));
  await assert.rejects(hv.start('from-missing.qcow2'), /Cannot access storage file/);
  await c.close();
});

test('networks: default NAT with DHCP, an isolated one; define, start, stop, autostart, undefine', async () => {
  const c = createSimCluster({ nodes: 1, vmsPerNode: 4, seed: 12, clock: new ManualClock() });
  const hv = c.hypervisors[0]!;
  const nets = await hv.listNetworks();
  const def = nets.find((n) => n.name === 'default')!;
  assert.deepEqual([def.active, def.autostart, def.bridge, def.ipAddress, def.dhcpStart, def.dhcpEnd], [true, true, 'virbr0', '192.168.122.1', '192.168.122.2', '192.168.122.254']);
  assert.ok(nets.some((n) => n.name === 'backend' && n.active));
  assert.match(await hv.networkXml('default'), /<forward mode='nat'>/);
  assert.doesNotMatch(await hv.networkXml('backend'), /<forward/);
  const name = await hv.networkDefine("<network><name>lab</name><bridge name='virbr9'/><ip address='10.9.0.1' netmask='255.255.255.0'><dhcp><range start='10.9.0.10' end='10.9.0.50'/></dhcp></ip></network>");
  assert.equal(name, 'lab');
  let lab = (await hv.listNetworks()).find((n) => n.name === 'lab')!;
  assert.deepEqual([lab.active, lab.persistent, lab.dhcpStart, lab.dhcpEnd], [false, true, '10.9.0.10', '10.9.0.50']);
  await hv.networkStart('lab');
  await assert.rejects(hv.networkStart('lab'), isCode(ErrorCode.OPERATION_INVALID));
  await hv.networkSetAutostart('lab', true);
  lab = (await hv.listNetworks()).find((n) => n.name === 'lab')!;
  assert.deepEqual([lab.active, lab.autostart], [true, true]);
  await hv.networkStop('lab');
  await hv.networkUndefine('lab');
  assert.ok(!(await hv.listNetworks()).some((n) => n.name === 'lab'));
  await assert.rejects(hv.networkXml('lab'), isCode(ErrorCode.NO_NETWORK));
  await assert.rejects(hv.networkDefine("<network><name>bad</name><ip address='10.0.0.300'/></network>"), isCode(ErrorCode.XML_ERROR));
  await assert.rejects(hv.networkDefine('<network><name>bad</name>'), isCode(ErrorCode.XML_ERROR));
  // A VM on a stopped network does not start.
  await hv.networkStop('backend');
  await hv.defineDomain("<domain type='kvm'><name>iso</name><memory unit='MiB'>256</memory><vcpu>1</vcpu><devices><interface type='network'><source network='backend'/></interface></devices></domain>");
  await assert.rejects(hv.start('iso'), /network 'backend' is not active/);
  await c.close();
});
