// The pure part of cloning: which disks are copied and as what, new MACs, the clone's XML.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesPerPool, cloneDomainXml, CloneError, cloneVolumeName, planClone, type NodeView, type VolumeOnNode } from '../../src/agent/clone.js';
import { summarizeDomainXml } from '../../src/agent/domxml.js';

const XML = `<domain type='kvm'>
  <name>web01</name>
  <uuid>0b7c7d3e-8a5a-4b8e-9c53-7d8a9b5f2a11</uuid>
  <description>front &amp; back</description>
  <memory unit='KiB'>1048576</memory>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/var/lib/libvirt/qemu/nvram/web01_VARS.fd</nvram>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web01.qcow2'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='fast' volume='data.img'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/var/lib/libvirt/iso/debian.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/srv/shared/quorum.img'/>
      <target dev='vdc' bus='virtio'/>
      <shareable/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:AA:BB:01'/>
      <source network='default'/>
      <target dev='vnet3'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:02'/>
      <source bridge='br0'/>
    </interface>
    <channel type='unix'>
      <source mode='bind' path='/var/lib/libvirt/qemu/channel/web01.agent'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <!-- kept as is -->
  </devices>
</domain>
`;

const VOLS: Array<[string, VolumeOnNode]> = [
  ['/var/lib/libvirt/images/web01.qcow2', { pool: 'default', volume: 'web01.qcow2', format: 'qcow2', allocation: 2_000_000, capacity: 9_000_000 }],
  ['/dev/fast/data.img', { pool: 'fast', volume: 'data.img', format: 'raw', allocation: 5_000_000, capacity: 9_000_000 }],
  ['/var/lib/libvirt/iso/debian.iso', { pool: 'iso', volume: 'debian.iso', format: 'iso', allocation: 600, capacity: 600 }],
];

function node(extra: Partial<NodeView> = {}): NodeView {
  const rand = [0x123456, 0x123456, 0xabcdef, 0x000001];
  return {
    volumeAt: (p) => VOLS.find(([path]) => path === p)?.[1],
    volume: (r) => VOLS.find(([, v]) => v.pool === r.pool && v.volume === r.volume)?.[1],
    volumeTaken: (r) => VOLS.some(([, v]) => v.pool === r.pool && v.volume === r.volume) || (r.pool === 'fast' && r.volume === 'web02-vdb.img'),
    macTaken: (m) => m === '52:54:00:ab:cd:ef',
    random24: () => rand.shift() ?? 7,
    ...extra,
  };
}

test('plan: writable pool disks copied under the new name, media and shared disks left shared, one fresh MAC per NIC', () => {
  const plan = planClone(XML, 'web02', node());
  assert.equal(plan.source, 'web01');
  assert.deepEqual(plan.volumes.map((v) => [v.target, `${v.from.pool}/${v.from.volume}`, `${v.to.pool}/${v.to.volume}`]), [
    ['vda', 'default/web01.qcow2', 'default/web02.qcow2'],
    // data.img does not carry the VM's name; web02-vdb.img is taken, so -1.
    ['vdb', 'fast/data.img', 'fast/web02-vdb-1.img'],
  ]);
  assert.deepEqual(plan.shared, ['sda', 'vdc']);
  // The second draw repeats the first, the third is taken on the node: both are drawn again.
  assert.deepEqual(plan.macs, [
    { from: '52:54:00:aa:bb:01', to: '52:54:00:12:34:56' },
    { from: '52:54:00:aa:bb:02', to: '52:54:00:00:00:01' },
  ]);
  assert.deepEqual([...bytesPerPool(plan)], [['default', 2_000_000], ['fast', 5_000_000]]);
});

test('the clone XML: new name, no UUID, copies in place, new MACs, no host-side names, everything else kept', () => {
  const plan = planClone(XML, 'web02 & co', node());
  const out = cloneDomainXml(XML, plan, new Map([['vda', '/var/lib/libvirt/images/web02 & co.qcow2']]));
  const s = summarizeDomainXml(out);
  assert.match(out, /<name>web02 &amp; co<\/name>/);
  assert.doesNotMatch(out, /<uuid>/);
  assert.deepEqual(s.disks.map((d) => [d.target, d.source]), [
    ['vda', '/var/lib/libvirt/images/web02 & co.qcow2'],
    ['vdb', plan.volumes[1]?.to.volume],
    ['sda', '/var/lib/libvirt/iso/debian.iso'],
    ['vdc', '/srv/shared/quorum.img'],
  ]);
  assert.deepEqual(s.interfaces.map((i) => [i.mac, i.target]), [['52:54:00:12:34:56', undefined], ['52:54:00:00:00:01', undefined]]);
  assert.equal(s.channels[0]?.path, undefined);
  assert.equal(s.channels[0]?.name, 'org.qemu.guest_agent.0');
  assert.match(out, /<nvram template="\/usr\/share\/OVMF\/OVMF_VARS.fd"\/>/);
  assert.doesNotMatch(out, /backingStore|vnet3/);
  assert.match(out, /<description>front &amp; back<\/description>/);
  assert.match(out, /<!-- kept as is -->/);
  // The shape survives: no blank lines where elements were taken out.
  assert.doesNotMatch(out, /\n\s*\n/);
  // The source is untouched by planning (a fresh parse each time).
  assert.equal(summarizeDomainXml(XML).interfaces[0]?.mac, '52:54:00:AA:BB:01');
});

test('refusals name the disk and what to do; Xen gets its own MAC prefix', () => {
  const unmanaged = XML.replace('/var/lib/libvirt/images/web01.qcow2', '/root/stray.qcow2');
  assert.throws(() => planClone(unmanaged, 'web02', node()), (e: unknown) => e instanceof CloneError && /disk vda \(\/root\/stray.qcow2\) is not a volume of any storage pool/.test(e.message));
  const net = XML.replace("<disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>", "<disk type='network' device='disk'>\n      <driver name='qemu' type='raw'/>");
  assert.throws(() => planClone(net, 'web02', node()), /disk vda is a network disk/);
  assert.throws(() => planClone('<domain><nam', 'x', node()), CloneError);
  const xen = planClone(XML.replace("type='kvm'", "type='xen'"), 'web02', node());
  assert.ok(xen.macs.every((m) => m.to.startsWith('00:16:3e:')));
});

test('volume names: the VM name replaced, else <new>-<target>.<ext>, then -1, -2 when taken', () => {
  const none = (): boolean => false;
  assert.equal(cloneVolumeName('web01-data.img', 'web01', 'web02', 'vdb', none), 'web02-data.img');
  assert.equal(cloneVolumeName('disk', 'web01', 'web02', 'vda', none), 'web02-vda');
  assert.equal(cloneVolumeName('root.qcow2', 'web01', 'web02', 'vda', none), 'web02-vda.qcow2');
  const taken = new Set(['web02.qcow2', 'web02-1.qcow2']);
  assert.equal(cloneVolumeName('web01.qcow2', 'web01', 'web02', 'vda', (n) => taken.has(n)), 'web02-2.qcow2');
});
