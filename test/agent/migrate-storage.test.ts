// Planning a migration's local disks (src/common/migrate-storage.ts), and the steps
// around libvirt's migration (migrate-target.ts) over a fake target: volumes made
// first, removed again on failure, and copyStorage's three meanings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationDisks, planStorage, targetVolumeXml, type MigrationDisk, type TargetPool } from '../../src/common/migrate-storage.js';
import { planMigrationStorage, StorageRefusal, targetName } from '../../src/agent/migrate-target.js';
import { JobManager } from '../../src/agent/jobs.js';
import { EventLog } from '../../src/agent/events.js';
import type { Hypervisor, MigrateOptions, StoragePoolInfo, StorageVolumeInfo } from '../../src/libvirt/hypervisor.js';

const MiB = 1024 * 1024;
const XML = `<domain type='qemu'><name>g1</name><devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/g1.qcow2'/><backingStore/><target dev='vda' bus='virtio'/></disk>
  <disk type='file' device='cdrom'><source file='/isos/x.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/srv/shared/data&amp;1.img'/><target dev='vdb' bus='virtio'/><shareable/></disk>
  <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vdc' bus='virtio'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/top.qcow2'/><backingStore type='file'><source file='/var/lib/libvirt/images/base.qcow2'/></backingStore><target dev='vdd' bus='virtio'/></disk>
</devices></domain>`;

const pool = (o: Partial<TargetPool> & { name: string }): TargetPool => ({ running: true, available: 10 * 1024 * MiB, volumes: new Set(), ...o });

test('the disks of a domain XML: targets, paths (entities decoded), formats, what is never copied, backing chains', () => {
  const { domainType, disks } = migrationDisks(XML);
  assert.equal(domainType, 'qemu');
  assert.deepEqual(disks.map((d) => [d.target, d.device, d.type, d.path, d.format, d.shared, d.hasBacking]), [
    ['vda', 'disk', 'file', '/var/lib/libvirt/images/g1.qcow2', 'qcow2', false, false],
    ['sda', 'cdrom', 'file', '/isos/x.iso', undefined, true, false],
    ['vdb', 'disk', 'file', '/srv/shared/data&1.img', 'raw', true, false],
    ['vdc', 'disk', 'network', undefined, undefined, false, false],
    ['vdd', 'disk', 'file', '/var/lib/libvirt/images/top.qcow2', 'qcow2', false, true],
  ]);
});

test('per disk: copied into a pool at its folder, shared when the target holds the file, never copied when read-only, shareable or a cdrom', () => {
  const { disks } = migrationDisks(XML);
  const src = (d: MigrationDisk): { capacity: number; allocation: number } => (d.target === 'vda' ? { capacity: 64 * MiB, allocation: 20 * MiB } : { capacity: 1024 * MiB, allocation: 5 * MiB });
  const plan = planStorage(disks, src, { node: 'n2', pools: [pool({ name: 'images', type: 'dir', path: '/var/lib/libvirt/images/', volumes: new Set(['top.qcow2']) })] });
  assert.deepEqual(plan.problems, []);
  assert.deepEqual(plan.migrateDisks, ['vda']);
  assert.deepEqual(plan.disks.map((d) => [d.target, d.action]), [['vda', 'copy'], ['sda', 'not-copied'], ['vdb', 'not-copied'], ['vdc', 'shared'], ['vdd', 'shared']]);
  const vda = plan.disks[0];
  assert.ok(vda);
  assert.deepEqual([vda.pool, vda.volume, vda.format, vda.capacity, vda.bytes], ['images', 'g1.qcow2', 'qcow2', 64 * MiB, 20 * MiB]);
  assert.equal(targetVolumeXml(vda), `<volume><name>g1.qcow2</name><capacity unit='bytes'>${64 * MiB}</capacity><allocation unit='bytes'>0</allocation><target><format type='qcow2'/></target></volume>`);
});

test('refusals name the node, the disk and what to do: no pool at the folder, an unknown size, too little room (a chain counts its full size)', () => {
  const { disks } = migrationDisks(XML);
  const none = planStorage(disks, () => ({ capacity: MiB, allocation: MiB }), { node: 'n2', pools: [pool({ name: 'other', path: '/data' }), pool({ name: 'images', path: '/var/lib/libvirt/images', running: false })] });
  assert.equal(none.problems.length, 2);
  assert.match(none.problems[0] ?? '', /^n2 has no storage pool at \/var\/lib\/libvirt\/images for disk vda \(\/var\/lib\/libvirt\/images\/g1\.qcow2\): define and start one there \(virsh pool-define-as NAME dir --target \/var\/lib\/libvirt\/images; virsh pool-start NAME\), or pass copyStorage: false/);
  const unknown = planStorage(disks.slice(0, 1), () => undefined, { node: 'n2', pools: [pool({ name: 'images', path: '/var/lib/libvirt/images' })] });
  assert.match(unknown.problems[0] ?? '', /cannot tell the size of disk vda/);
  // vda takes its allocation (20 MiB); vdd is a chain, copied flattened: its full 1 GiB.
  const tight = planStorage(disks, (d) => (d.target === 'vda' ? { capacity: 64 * MiB, allocation: 20 * MiB } : { capacity: 1024 * MiB, allocation: 5 * MiB }), { node: 'n2', pools: [pool({ name: 'images', path: '/var/lib/libvirt/images', available: 500 * MiB })] });
  assert.deepEqual(tight.problems, ["n2's pool images has 500 MiB free, the copy of vda, vdd needs 1.0 GiB: free space there or pick another node"]);
  assert.deepEqual(tight.migrateDisks, ['vda', 'vdd']);
});

test('a logical pool takes no format; a volume disk is placed by its pool name', () => {
  const xml = `<domain type='kvm'><devices><disk type='block' device='disk'><driver type='raw'/><source dev='/dev/vg0/g1'/><target dev='vda'/></disk><disk type='volume' device='disk'><driver type='qcow2'/><source pool='fast' volume='g1-b'/><target dev='vdb'/></disk></devices></domain>`;
  const plan = planStorage(migrationDisks(xml).disks, () => ({ capacity: 8 * MiB, allocation: 8 * MiB }), { node: 'n3', pools: [pool({ name: 'vg0', type: 'logical', path: '/dev/vg0' }), pool({ name: 'fast', type: 'dir', path: '/fast' })] });
  assert.deepEqual(plan.problems, []);
  assert.deepEqual(plan.disks.map((d) => [d.target, d.action, d.pool, d.volume, d.format]), [['vda', 'copy', 'vg0', 'g1', undefined], ['vdb', 'copy', 'fast', 'g1-b', 'qcow2']]);
});

test('the target in messages is the host of its URI', () => {
  assert.equal(targetName('qemu+tcp://127.77.1.3/system'), '127.77.1.3');
  assert.equal(targetName('qemu+ssh://root@n2:2222/system'), 'n2');
});

/** A node with pools and volumes as a Hypervisor (only what planning and the steps call). */
function fakeNode(pools: Array<{ name: string; path: string; available: number; vols: StorageVolumeInfo[] }>, xml = XML): Hypervisor & { log: string[] } {
  const log: string[] = [];
  const hv = {
    simulated: false,
    log,
    domainXml: () => Promise.resolve(xml),
    listPools: () => Promise.resolve(pools.map((p): StoragePoolInfo => ({ name: p.name, uuid: '', state: 'running', capacity: 0, allocation: 0, available: p.available, autostart: false, persistent: true, type: 'dir', path: p.path }))),
    poolRefresh: (n: string) => (log.push(`refresh ${n}`), Promise.resolve()),
    listVolumes: (n: string) => Promise.resolve(pools.find((p) => p.name === n)?.vols ?? []),
    createVolume: (n: string, x: string) => {
      log.push(`create ${n} ${x}`);
      const name = /<name>([^<]*)<\/name>/.exec(x)?.[1] ?? '';
      const v: StorageVolumeInfo = { name, key: name, path: `${pools.find((p) => p.name === n)?.path}/${name}`, type: 'file', capacity: 0, allocation: 0 };
      pools.find((p) => p.name === n)?.vols.push(v);
      return Promise.resolve(v);
    },
    deleteVolume: (n: string, v: string) => (log.push(`delete ${n} ${v}`), Promise.resolve()),
    close: () => (log.push('close'), Promise.resolve()),
  };
  return hv as unknown as Hypervisor & { log: string[] };
}

const ONE_DISK = `<domain type='qemu'><devices><disk type='file' device='disk'><driver type='qcow2'/><source file='/img/g1.qcow2'/><target dev='vda'/></disk></devices></domain>`;
const srcVol: StorageVolumeInfo = { name: 'g1.qcow2', key: 'k', path: '/img/g1.qcow2', type: 'file', capacity: 64 * MiB, allocation: 30 * MiB, format: 'qcow2' };
const base: MigrateOptions = { live: true, persistOnTarget: true, undefineSource: true, copyStorage: false };

test('copyStorage: absent plans the copy; false trusts the admin; true refuses a target that cannot be read, absent then migrates without a copy', async () => {
  const source = fakeNode([{ name: 'img', path: '/img', available: 0, vols: [srcVol] }], ONE_DISK);
  const target = fakeNode([{ name: 'img', path: '/img', available: 100 * MiB, vols: [] }]);
  const planned = await planMigrationStorage({ hv: source, vm: 'g1', dest: 'qemu+tcp://n2/system', copyStorage: undefined, open: () => Promise.resolve(target) }, base);
  assert.equal(planned.steps.state.mode, 'copy');
  assert.deepEqual([planned.options.copyStorage, planned.options.migrateDisks], [true, ['vda']]);
  assert.ok(target.log.includes('refresh img'), 'the target pool is refreshed before its volumes are read');
  const trusted = await planMigrationStorage({ hv: source, vm: 'g1', dest: 'qemu+tcp://n2/system', copyStorage: false, open: () => Promise.reject(new Error('never opened')) }, base);
  assert.deepEqual([trusted.steps.state.mode, trusted.options.copyStorage], ['trusted', false]);
  const down = (): Promise<Hypervisor> => Promise.reject(new Error('connection refused'));
  await assert.rejects(planMigrationStorage({ hv: source, vm: 'g1', dest: 'qemu+tcp://n2/system', copyStorage: true, open: down }, { ...base, copyStorage: true }), (e: Error) => e instanceof StorageRefusal && /cannot read the storage pools of n2 .*connection refused.*copyStorage: true needs them/.test(e.message));
  const unplanned = await planMigrationStorage({ hv: source, vm: 'g1', dest: 'qemu+tcp://n2/system', copyStorage: undefined, open: down }, base);
  assert.deepEqual([unplanned.steps.state.mode, unplanned.options.copyStorage], ['unplanned', false]);
  assert.match(unplanned.steps.state.note ?? '', /connection refused/);
  // A refusal closes the target connection it opened.
  const full = fakeNode([{ name: 'img', path: '/img', available: 10 * MiB, vols: [] }]);
  await assert.rejects(planMigrationStorage({ hv: source, vm: 'g1', dest: 'qemu+tcp://n2/system', copyStorage: undefined, open: () => Promise.resolve(full) }, base), /n2's pool img has 10 MiB free, the copy of vda needs 30 MiB/);
  assert.ok(full.log.includes('close'));
});

test('a migration job makes the target volume first and removes it when libvirt fails; the job says so', async () => {
  const source = fakeNode([{ name: 'img', path: '/img', available: 0, vols: [srcVol] }], ONE_DISK);
  const target = fakeNode([{ name: 'img', path: '/img', available: 100 * MiB, vols: [] }]);
  const planned = await planMigrationStorage({ hv: source, vm: 'g1', dest: 'qemu+tcp://n2/system', copyStorage: undefined, open: () => Promise.resolve(target) }, base);
  let migratedWith: MigrateOptions | undefined;
  const hv = {
    ...source,
    migrate: (_n: string, _d: string, o: MigrateOptions) => {
      migratedWith = o;
      assert.equal(target.log.filter((l) => l.startsWith('create')).length, 1, 'the volume exists before libvirt copies');
      return Promise.reject(new Error('internal error: unable to execute QEMU command'));
    },
    jobStats: () => Promise.resolve({ type: 'none', raw: {} }),
    domainInfo: () => Promise.resolve({ state: 'running' }),
  } as unknown as Hypervisor;
  const jobs = new JobManager(new EventLog(100), 10, 50);
  const job = jobs.startMigration(hv, 'g1', 'qemu+tcp://n2/system', planned.options, 'test', planned.steps);
  for (let i = 0; i < 100 && job.status === 'running'; i++) await new Promise((r) => setTimeout(r, 10));
  jobs.close();
  assert.equal(job.status, 'failed');
  assert.deepEqual(migratedWith?.migrateDisks, ['vda']);
  assert.ok(target.log.some((l) => l === `create img <volume><name>g1.qcow2</name><capacity unit='bytes'>${64 * MiB}</capacity><allocation unit='bytes'>0</allocation><target><format type='qcow2'/></target></volume>`));
  assert.ok(target.log.includes('delete img g1.qcow2'));
  assert.ok(target.log.includes('close'));
  assert.deepEqual(job.storage?.removed, [{ pool: 'img', volume: 'g1.qcow2', path: '/img/g1.qcow2' }]);
  assert.deepEqual(job.storage?.leftover, []);
});

test('libvirt gets one migrate_disks parameter per copied disk, and only with the storage copy', async () => {
  const { migrateFlags, migrateParams } = await import('../../src/libvirt/procedures/migration.js');
  assert.deepEqual(migrateParams({ copyStorage: true, migrateDisks: ['vda', 'vdb'] }).map((p) => [p.field, p.value]), [['migrate_disks', 'vda'], ['migrate_disks', 'vdb']]);
  assert.equal(migrateFlags({ copyStorage: true, migrateDisks: ['vda'] }) & 64, 64);
  assert.deepEqual(migrateParams({ copyStorage: false, migrateDisks: ['vda'] }), []);
});

test('copyStorage true with every disk already on the target: no storage copy, so libvirt does not copy the shared file over itself', async () => {
  const source = fakeNode([{ name: 'img', path: '/img', available: 0, vols: [srcVol] }], ONE_DISK);
  const target = fakeNode([{ name: 'img', path: '/img', available: 100 * MiB, vols: [{ ...srcVol }] }]);
  const planned = await planMigrationStorage({ hv: source, vm: 'g1', dest: 'qemu+tcp://n2/system', copyStorage: true, open: () => Promise.resolve(target) }, { ...base, copyStorage: true });
  assert.deepEqual([planned.steps.state.mode, planned.options.copyStorage, planned.options.migrateDisks], ['shared', false, undefined]);
  assert.deepEqual(planned.steps.state.disks.map((d) => d.action), ['shared']);
  assert.ok(target.log.includes('close'));
});
