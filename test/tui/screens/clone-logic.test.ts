// The clone form's checks (pure): the preview of copies and shared disks, every problem named by field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCloneJob, emptyClone, previewClone } from '../../../src/tui/commands/manage-clone.js';
import { domainDevices } from '../../../src/tui/store/manage-xml.js';
import type { NodeStorage, CloneFollow } from '../../../src/tui/store/manage.js';
import { newVm } from '../../../src/tui/store/model.js';

const XML = `<domain type='kvm'><name>db1</name><devices>
  <disk type='file' device='disk'><source file='/img/db1.qcow2'/><target dev='vda'/></disk>
  <disk type='volume' device='disk'><source pool='fast' volume='data'/><target dev='vdb'/></disk>
  <disk type='file' device='cdrom'><source file='/iso/d.iso'/><target dev='sda'/><readonly/></disk>
  <disk type='file' device='disk'><target dev='vdc'/></disk>
  <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
</devices></domain>`;

function storage(fastAvail = 10_000): NodeStorage {
  return {
    pools: [
      { name: 'default', state: 'running', available: 1_000_000 } as NodeStorage['pools'][number],
      { name: 'fast', state: 'running', available: fastAvail } as NodeStorage['pools'][number],
    ],
    volumes: new Map([
      ['default', [{ name: 'db1.qcow2', path: '/img/db1.qcow2', key: '', capacity: 9e9, allocation: 300_000, format: 'qcow2' }, { name: 'db2.qcow2', path: '/img/db2.qcow2', key: '', capacity: 1, allocation: 1, format: 'qcow2' }]],
      ['fast', [{ name: 'data', path: '/dev/fast/data', key: '', capacity: 9e9, allocation: 5_000, format: 'raw' }]],
    ]),
    volumeErrors: new Map(),
    users: new Map(),
  };
}

test('clone preview: copies under the new name (a taken one gets -1), media and empty drives shared, NICs counted', () => {
  const vm = { ...newVm('n1', 'db1'), state: 'shutoff' };
  const p = previewClone(vm, domainDevices(XML), storage(), ['db1'], { name: 'db2', start: 'yes' });
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.plan, { name: 'db2', start: true });
  assert.deepEqual(p.copies.map((c) => [c.target, `${c.pool}/${c.from}`, c.to, c.bytes]), [
    ['vda', 'default/db1.qcow2', 'db2-1.qcow2', 300_000],
    ['vdb', 'fast/data', 'db2-vdb', 5_000],
  ]);
  assert.deepEqual(p.shared, ['sda', 'vdc']);
  assert.equal(p.nics, 1);
  assert.deepEqual(emptyClone('db1'), { name: 'db1-clone', start: 'no' });
});

test('clone preview: each problem names its field and no plan is made', () => {
  const running = { ...newVm('n1', 'db1'), state: 'running' };
  const p = previewClone(running, domainDevices(XML.replace('/img/db1.qcow2', '/root/stray.img')), storage(100), ['db1', 'taken'], { name: 'taken', start: 'maybe' });
  assert.equal(p.plan, undefined);
  const by = (f: string): string => p.errors.filter((e) => e.field === f).map((e) => e.message).join(' | ');
  assert.match(by('name'), /n1 already has a VM named 'taken'/);
  assert.match(by('start'), /'maybe' is not yes or no/);
  assert.match(by('state'), /db1 is running: a clone is made from a stopped VM/);
  assert.match(by('disks'), /disk vda \(\/root\/stray.img\) is not a volume of any storage pool on n1/);
  assert.match(by('disks'), /need 5000 bytes in pool fast, which has 100 available/);
  const bad = previewClone({ ...running, state: 'shutoff' }, domainDevices(XML), storage(), [], { name: 'a/b', start: 'no' });
  assert.match(bad.errors[0]?.message ?? '', /name 'a\/b' may only use letters/);
});

test('a clone job as job.get gives it: state, percent, volumes done', () => {
  const prev: CloneFollow = { node: 'n1', source: 'db1', name: 'db2', job: 'j1', state: 'running', percent: 0, bytesDone: 0, bytesTotal: 0, volumes: [], startedAt: 1 };
  const next = decodeCloneJob(
    { id: 'j1', kind: 'clone', vm: 'db1', dest: 'db2', startedAt: 1, elapsedMs: 5, cancelRequested: false, caller: 'test', options: { start: false }, status: 'failed', reason: 'pool full', clone: { name: 'db2', volumes: [{ target: 'vda', pool: 'default', from: 'db1.qcow2', to: 'db2.qcow2', bytes: 10, done: true }], shared: [], macs: [], start: false }, progress: { type: 'clone', dataTotal: 20, dataProcessed: 10, dataRemaining: 10, percent: 50 } },
    prev,
  );
  assert.deepEqual([next.state, next.percent, next.bytesDone, next.bytesTotal, next.error], ['failed', 50, 10, 20, 'pool full']);
  assert.deepEqual(next.volumes, [{ target: 'vda', pool: 'default', to: 'db2.qcow2', done: true }]);
});
