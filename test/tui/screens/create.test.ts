/** The create-VM form's checks (each naming its field) and the XML it becomes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainXmlFor, emptyCreate, validateCreate, type NodeFacts } from '../../../src/tui/commands/manage-create.js';
import { domainDevices, xmlWellFormed } from '../../../src/tui/store/manage-xml.js';

const G = 1024 ** 3;
const facts: NodeFacts = {
  node: 'node-01',
  vmNames: ['web-01'],
  cpus: 8,
  freeMemKiB: 4 * 1024 * 1024,
  pools: [
    { name: 'default', state: 'running', type: 'dir', path: '/images', capacity: 100 * G, allocation: 80 * G, available: 20 * G, autostart: true },
    { name: 'iso', state: 'running', type: 'dir', path: '/iso', capacity: 10 * G, allocation: 1 * G, available: 9 * G, autostart: true },
  ],
  volumes: new Map([
    ['default', [{ name: 'web-01.qcow2', path: '/images/web-01.qcow2', key: '', capacity: G, allocation: G, format: 'qcow2' }, { name: 'old.raw', path: '/images/old.raw', key: '', capacity: G, allocation: G, format: 'raw' }]],
    ['iso', [{ name: 'alpine.iso', path: '/iso/alpine.iso', key: '', capacity: G, allocation: G, format: 'iso' }]],
  ]),
  networks: ['default', 'backend'],
};

test('a valid form becomes a plan; its XML is well formed and names the disk, ISO and network', () => {
  const r = validateCreate({ ...emptyCreate(), name: 'app-1', vcpus: '2', memoryMiB: '2048', diskSize: '15G', network: 'backend', bootMode: 'iso', iso: 'iso/alpine.iso', start: 'yes' }, facts);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.plan, { name: 'app-1', vcpus: 2, memKiB: 2048 * 1024, disk: { pool: 'default', newBytes: 15 * G, volume: 'app-1.qcow2', format: 'qcow2' }, network: 'backend', iso: '/iso/alpine.iso', kernel: undefined, initrd: undefined, start: true, type: 'kvm' });
  const xml = domainXmlFor(r.plan ?? assert.fail(), '/images/app-1.qcow2');
  assert.equal(xmlWellFormed(xml).ok, true);
  const d = domainDevices(xml);
  assert.deepEqual(d.disks.map((x) => [x.device, x.path]), [['disk', '/images/app-1.qcow2'], ['cdrom', '/iso/alpine.iso']]);
  assert.deepEqual(d.nics.map((n) => n.network), ['backend']);
  assert.match(xml, /<vcpu placement='static'>2<\/vcpu>/);
  assert.match(xml, /<memory unit='KiB'>2097152<\/memory>/);
  assert.match(xml, /^<domain type='kvm'>/);
  const tcg = validateCreate({ ...emptyCreate(), name: 'app-2', type: 'qemu' }, facts);
  assert.match(domainXmlFor(tcg.plan ?? assert.fail(), '/images/app-2.qcow2'), /^<domain type='qemu'>/);
});

test('an existing volume, kernel boot and no network', () => {
  const r = validateCreate({ ...emptyCreate(), name: 'k1', diskMode: 'existing', diskVolume: 'default/old.raw', network: 'none', bootMode: 'kernel', kernel: '/boot/vmlinuz', initrd: '/boot/initrd.img' }, facts);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.plan?.disk, { pool: 'default', volume: 'old.raw', path: '/images/old.raw', format: 'raw' });
  const xml = domainXmlFor(r.plan ?? assert.fail(), r.plan?.disk?.path);
  assert.match(xml, /<kernel>\/boot\/vmlinuz<\/kernel>/);
  assert.equal(domainDevices(xml).nics.length, 0);
});

test('every bad field is named and no plan is made: name taken/invalid, sizes beyond the node, unknown network', () => {
  const taken = validateCreate({ ...emptyCreate(), name: 'web-01' }, facts);
  assert.equal(taken.plan, undefined);
  assert.deepEqual(taken.errors.map((e) => e.field), ['name']);
  assert.match(taken.errors[0]?.message ?? '', /node-01 already has a VM 'web-01'/);
  const bad = validateCreate({ ...emptyCreate(), name: 'bad name!', vcpus: '16', memoryMiB: '8192', diskSize: '50G', network: 'nope', start: 'maybe', type: 'xen' }, facts);
  assert.equal(bad.plan, undefined);
  assert.deepEqual(bad.errors.map((e) => e.field), ['name', 'vcpus', 'memory', 'disk size', 'network', 'start', 'type']);
  assert.match(bad.errors[1]?.message ?? '', /16 is more than the 8 CPUs of node-01/);
  assert.match(bad.errors[2]?.message ?? '', /8192 MiB is more than the 4096 MiB node-01 has free/);
  assert.match(bad.errors[3]?.message ?? '', /50G is more than the 20G available in pool default/);
  assert.match(bad.errors[4]?.message ?? '', /no network 'nope' on node-01 \(default, backend\)/);
  const vols = validateCreate({ ...emptyCreate(), name: 'x', diskMode: 'existing', diskVolume: 'default/missing', bootMode: 'iso', iso: 'cdroms/a.iso' }, facts);
  assert.deepEqual(vols.errors.map((e) => e.field), ['disk volume', 'iso']);
  const pool = validateCreate({ ...emptyCreate(), name: 'web-01x', diskPool: 'nowhere', vcpus: '0', memoryMiB: 'lots' }, facts);
  assert.deepEqual(pool.errors.map((e) => e.field), ['vcpus', 'memory', 'disk pool']);
});
