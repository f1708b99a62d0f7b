// Clone planning, the one pure module the agent and the dashboard's clone form share.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneSource, planClone as agentPlan } from '../../src/agent/clone.js';
import { CloneError, diskRole, planClone, type CloneDisk, type NodeView, type VolumeOnNode } from '../../src/common/clone-plan.js';
import { previewClone } from '../../src/tui/commands/manage-clone.js';
import { domainDevices } from '../../src/tui/store/manage-xml.js';
import type { NodeStorage } from '../../src/tui/store/manage.js';
import { newVm } from '../../src/tui/store/model.js';

const disk = (o: Partial<CloneDisk>): CloneDisk => ({ target: 'vda', device: 'disk', type: 'file', shared: false, ...o });

test('which disks are copied: one rule for every kind of disk', () => {
  const cases: Array<[Partial<CloneDisk>, string]> = [
    [{ path: '/img/a.qcow2' }, 'copy'],
    [{ type: 'block', path: '/dev/vg/a' }, 'copy'],
    [{ type: 'volume', pool: 'p', volume: 'v' }, 'copy'],
    [{ device: 'cdrom', path: '/iso/x.iso' }, 'share'],
    [{ device: 'floppy', path: '/img/f.img' }, 'share'],
    [{ path: '/img/q.img', shared: true }, 'share'],
    [{}, 'share'], // an empty drive: nothing to copy
    [{ type: 'network' }, 'refuse'],
    [{ type: 'dir', path: '/srv/tree' }, 'refuse'],
  ];
  for (const [d, want] of cases) assert.equal(diskRole(disk(d)).role, want, JSON.stringify(d));
});

const VOLS: VolumeOnNode[] = [
  { pool: 'default', volume: 'web01.qcow2', allocation: 700, capacity: 9000, format: 'qcow2' },
  { pool: 'fast', volume: 'data', allocation: 500, capacity: 9000, format: 'raw' },
];
const PATHS = new Map([['/img/web01.qcow2', VOLS[0]], ['/dev/fast/data', VOLS[1]]]);

function view(avail: Record<string, number> = {}): NodeView {
  let r = 1;
  return {
    node: 'n1',
    volumeAt: (p) => PATHS.get(p),
    volume: (ref) => VOLS.find((v) => v.pool === ref.pool && v.volume === ref.volume),
    volumeTaken: (ref) => VOLS.some((v) => v.pool === ref.pool && v.volume === ref.volume),
    macTaken: () => false,
    random24: () => r++,
    available: (pool) => avail[pool],
  };
}

test('every problem is collected, not only the first: each bad disk and each overfull pool', () => {
  const { plan, problems } = planClone(
    {
      name: 'web01',
      disks: [
        disk({ target: 'vda', path: '/img/web01.qcow2' }),
        disk({ target: 'vdb', path: '/root/stray.img' }),
        disk({ target: 'vdc', type: 'network' }),
        disk({ target: 'vdd', type: 'volume', pool: 'fast', volume: 'gone' }),
        disk({ target: 'vde', type: 'volume', pool: 'fast', volume: 'data' }),
      ],
      macs: ['52:54:00:AA:00:01'],
    },
    'web02',
    view({ default: 10_000, fast: 100 }),
  );
  assert.deepEqual(
    problems.map((p) => [p.kind, p.target ?? p.pool]),
    [['disk', 'vdb'], ['disk', 'vdc'], ['disk', 'vdd'], ['space', 'fast']],
  );
  assert.match(problems[0]?.message ?? '', /disk vdb \(\/root\/stray.img\) is not a volume of any storage pool on n1/);
  assert.match(problems[1]?.message ?? '', /disk vdc is a network disk/);
  assert.match(problems[2]?.message ?? '', /volume gone in pool fast/);
  assert.match(problems[3]?.message ?? '', /need 500 bytes in pool fast, which has 100 available/);
  // What could be planned still is, for the preview.
  assert.deepEqual(plan.volumes.map((v) => `${v.to.pool}/${v.to.volume}`), ['default/web02.qcow2', 'fast/web02-vde']);
  assert.deepEqual(plan.macs, [{ from: '52:54:00:aa:00:01', to: '52:54:00:00:00:01' }]);
});

test('the agent refuses with all the problems in one fault', () => {
  const xml = `<domain type='kvm'><name>web01</name><devices>
    <disk type='file' device='disk'><source file='/root/a.img'/><target dev='vda'/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='p/x'/><target dev='vdb'/></disk>
  </devices></domain>`;
  assert.throws(
    () => agentPlan(xml, 'web02', view()),
    (e: unknown) => e instanceof CloneError && e.problems.length === 2 && /^2 problems: disk vda .*; disk vdb is a network disk/.test(e.message),
  );
});

test('the dashboard preview and the agent plan the same copies and shares from the same XML', () => {
  const xml = `<domain type='kvm'><name>web01</name><devices>
    <disk type='file' device='disk'><source file='/img/web01.qcow2'/><target dev='vda'/></disk>
    <disk type='block' device='disk'><source dev='/dev/fast/data'/><target dev='vdb'/></disk>
    <disk type='file' device='cdrom'><source file='/iso/d.iso'/><target dev='sda'/><readonly/></disk>
    <disk type='file' device='disk'><source file='/srv/q.img'/><target dev='vdc'/><shareable/></disk>
    <disk type='file' device='disk'><target dev='vdd'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:09'/><source network='default'/></interface>
  </devices></domain>`;
  const agent = agentPlan(xml, 'web02', view());
  const storage: NodeStorage = {
    pools: [{ name: 'default', state: 'running', available: 1e9 } as NodeStorage['pools'][number], { name: 'fast', state: 'running', available: 1e9 } as NodeStorage['pools'][number]],
    volumes: new Map([
      ['default', [{ name: 'web01.qcow2', path: '/img/web01.qcow2', key: '', capacity: 9000, allocation: 700, format: 'qcow2' }]],
      ['fast', [{ name: 'data', path: '/dev/fast/data', key: '', capacity: 9000, allocation: 500, format: 'raw' }]],
    ]),
    volumeErrors: new Map(),
    users: new Map(),
  };
  const preview = previewClone({ ...newVm('n1', 'web01'), state: 'shutoff' }, domainDevices(xml), storage, ['web01'], { name: 'web02', start: 'no' });
  assert.deepEqual(preview.errors, []);
  assert.deepEqual(
    preview.copies.map((c) => [c.target, c.pool, c.from, c.to, c.bytes]),
    agent.volumes.map((v) => [v.target, v.to.pool, v.from.volume, v.to.volume, v.from.allocation]),
  );
  assert.deepEqual(preview.shared, agent.shared);
  assert.deepEqual(agent.shared, ['sda', 'vdc', 'vdd']);
  assert.equal(cloneSource(xml).macs.length, preview.nics);
});
