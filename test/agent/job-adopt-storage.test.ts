// A migration's storage across an agent restart (job-adopt.ts, migrate-target.ts): the jobs
// file keeps the target volumes it made and the URI (version 2; a version-1 file still
// loads), what a failed adopted migration still has to remove, how it is reported, and the
// settle path over the simulated driver: removed through the target, or each left with why.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adoptRunningJobs, loadRunningJobs, parseJobsFile, saveRunningJobs, savedJobs, type SavedJob } from '../../src/agent/job-adopt.js';
import { EventLog } from '../../src/agent/events.js';
import { JobManager, jobToValue, type Job } from '../../src/agent/jobs.js';
import { cleanupSummary, unreachableLeftovers, unrecordedCopies, volumesToRemove, type MigrationStorage } from '../../src/agent/migrate-target.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import type { Hypervisor } from '../../src/libvirt/hypervisor.js';

const URI = 'qemu+tcp://n2/system';
const storage = (): MigrationStorage => ({
  mode: 'copy',
  disks: [{ target: 'vda', path: '/var/lib/libvirt/images/g1.qcow2', action: 'copy', why: 'copied', pool: 'images', volume: 'g1.qcow2', format: 'qcow2', capacity: 1 << 26, bytes: 1 << 24 }],
  created: [{ pool: 'images', volume: 'g1.qcow2', path: '/var/lib/libvirt/images/g1.qcow2' }],
  removed: [],
  leftover: [],
});
const running = (s?: MigrationStorage): Job => ({ id: 'job-1', kind: 'migrate', vm: 'g1', dest: URI, options: { live: true, copyStorage: true, migrateDisks: ['vda'] }, status: 'running', startedAt: 1000, cancelRequested: false, caller: 'admin', ...(s ? { storage: s } : {}) });

test('the jobs file keeps a migration\'s storage and its target URI (version 2), and reads it back as it was', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-jobs-'));
  try {
    const file = join(dir, 'audit.jsonl.jobs');
    const done = { ...running(storage()), id: 'job-2', status: 'failed' as const };
    saveRunningJobs(file, [running(storage()), running(), done]);
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { version: number; jobs: SavedJob[] };
    assert.equal(raw.version, 2);
    assert.equal(raw.jobs.length, 2, 'only the running ones');
    const back = loadRunningJobs(file);
    assert.equal(back.message, undefined);
    assert.deepEqual(back.jobs[0]?.storage, { uri: URI, state: storage() });
    assert.equal(back.jobs[0]?.id, 'job-1');
    assert.equal('storage' in (back.jobs[1] ?? {}), false, 'a migration without storage steps saves none');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the saved storage is a copy: the volumes the job removes later do not change what was saved', () => {
  const j = running(storage());
  const s = savedJobs([j]);
  j.storage?.removed.push({ pool: 'images', volume: 'g1.qcow2' });
  assert.deepEqual(s[0]?.storage?.state.removed, []);
});

test('a version-1 jobs file (before storage was saved) still loads: same jobs, no storage', () => {
  const v1 = JSON.stringify({ version: 1, jobs: [{ id: 'job-a', kind: 'migrate', vm: 'g1', dest: URI, options: { live: true }, startedAt: 5, caller: 'admin', cancelRequested: false }] });
  const r = parseJobsFile(v1);
  assert.equal(r.message, undefined);
  assert.deepEqual(r.jobs, [{ id: 'job-a', kind: 'migrate', vm: 'g1', dest: URI, options: { live: true }, startedAt: 5, caller: 'admin', cancelRequested: false }]);
  // A storage key in a version-1 file is not trusted (version 1 never wrote one).
  const odd = parseJobsFile(JSON.stringify({ version: 1, jobs: [{ id: 'job-b', vm: 'g1', storage: { uri: URI, state: storage() } }] }));
  assert.equal(odd.jobs[0]?.storage, undefined);
  assert.throws(() => parseJobsFile(JSON.stringify({ version: 3, jobs: [] })), /not a version-1 or -2 jobs file/);
});

test('a damaged storage block: the job still loads (it is adopted), without storage, and the message names it', () => {
  const bad = { ...storage(), created: [{ pool: 'images' }] };
  const r = parseJobsFile(JSON.stringify({ version: 2, jobs: [{ id: 'job-c', vm: 'g1', dest: URI, storage: { uri: URI, state: bad } }, { id: 'job-d', vm: 'g2', dest: URI, storage: { state: storage() } }] }));
  assert.deepEqual(r.jobs.map((j) => [j.id, j.storage]), [['job-c', undefined], ['job-d', undefined]]);
  assert.match(r.message ?? '', /the saved storage of job-c, job-d is unreadable: the target volumes those migrations made are not known/);
});

test('what a failed migration still removes: made, and neither removed nor reported left', () => {
  const s = storage();
  s.created.push({ pool: 'images', volume: 'g1-data.raw' }, { pool: 'other', volume: 'g1.qcow2' });
  assert.deepEqual(volumesToRemove(s).map((v) => `${v.pool}/${v.volume}`), ['images/g1.qcow2', 'images/g1-data.raw', 'other/g1.qcow2']);
  s.removed.push({ pool: 'images', volume: 'g1.qcow2' });
  s.leftover.push({ pool: 'images', volume: 'g1-data.raw', error: 'busy' });
  assert.deepEqual(volumesToRemove(s).map((v) => `${v.pool}/${v.volume}`), ['other/g1.qcow2'], 'same name in another pool is another volume');
  assert.deepEqual(volumesToRemove({ ...storage(), created: [] }), []);
});

test('an unreachable target: each volume is reported left, with the node, the URI, the error and the command to remove it', () => {
  const left = unreachableLeftovers(storage().created, URI, 'connect ECONNREFUSED');
  assert.deepEqual(left, [{ pool: 'images', volume: 'g1.qcow2', path: '/var/lib/libvirt/images/g1.qcow2', error: `not removed: cannot reach n2 (${URI}): connect ECONNREFUSED; remove it there by hand (virsh vol-delete --pool images g1.qcow2)` }]);
});

test('the clean-up in the job\'s reason (and so in the audit record of its end)', () => {
  assert.equal(cleanupSummary(storage()), undefined, 'nothing removed or left yet: nothing to say');
  const s = storage();
  s.removed.push({ pool: 'images', volume: 'g1.qcow2' });
  s.leftover.push({ pool: 'images', volume: 'g1-data.raw', error: 'busy' });
  assert.equal(cleanupSummary(s), 'removed the target volumes it made: images/g1.qcow2; left on the target: images/g1-data.raw (busy)');
});

/** A second handle on the simulated target whose close leaves the node up (the clean-up closes what it opens). */
const handle = (hv: Hypervisor): Hypervisor => new Proxy(hv, { get: (t, k) => (k === 'close' ? () => Promise.resolve() : Reflect.get(t, k, t) as unknown) });

test('a saved migration that ended while the agent was down, the VM still here: failed, the target volume it made removed, job.get says so', async (t) => {
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 1, seed: 3 });
  t.after(() => sim.close());
  const [h1, h2] = sim.hypervisors;
  assert.ok(h1 && h2);
  const vm = (await h1.listDomains({ active: true, inactive: false }))[0]?.name;
  assert.ok(vm);
  const pool = (await h2.listPools())[0]?.name;
  assert.ok(pool);
  const made = await h2.createVolume(pool, `<volume><name>${vm}-disk.qcow2</name><capacity unit='bytes'>1048576</capacity></volume>`);
  const s: MigrationStorage = { ...storage(), created: [{ pool, volume: `${vm}-disk.qcow2`, path: made.path }] };
  const saved = parseJobsFile(JSON.stringify({ version: 2, jobs: savedJobs([{ ...running(s), vm, dest: 'sim://node-02' }]) })).jobs;
  const jobs = new JobManager(new EventLog());
  const ended: Job[] = [];
  jobs.onEnd = (j) => ended.push(j);
  const opened: string[] = [];
  const r = await adoptRunningJobs(h1, jobs, saved, (uri) => {
    opened.push(uri);
    return Promise.resolve(handle(h2));
  });
  jobs.close();
  assert.equal(r.settled.length, 1);
  const j = jobs.get('job-1');
  assert.equal(j?.status, 'failed');
  assert.deepEqual(opened, ['sim://node-02'], 'through the URI the volumes were made through');
  assert.equal((await h2.listVolumes(pool)).some((v) => v.name === `${vm}-disk.qcow2`), false, 'the volume is gone from the target');
  const wire = jobToValue(j as Job) as { storage?: { removed: Array<{ volume: string }>; leftover: unknown[] }; reason?: string };
  assert.deepEqual(wire.storage?.removed.map((v) => v.volume), [`${vm}-disk.qcow2`]);
  assert.deepEqual(wire.storage?.leftover, []);
  assert.match(wire.reason ?? '', new RegExp(`the VM is running on this node; removed the target volumes it made: ${pool}/${vm}-disk\\.qcow2$`));
  assert.equal(ended.length, 1, 'its end reaches onEnd (the audit record)');
});

test('the same with the target unreachable: failed, the volume reported left with the reason; a moved VM removes nothing', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 4 });
  t.after(() => sim.close());
  const [h1] = sim.hypervisors;
  assert.ok(h1);
  const [a, b] = (await h1.listDomains({ active: true, inactive: false })).map((d) => d.name);
  assert.ok(a && b);
  await h1.destroy(b);
  await h1.undefineDomain(b);
  const saved = parseJobsFile(JSON.stringify({ version: 2, jobs: savedJobs([{ ...running(storage()), vm: a }, { ...running(storage()), id: 'job-2', vm: b }]) })).jobs;
  const jobs = new JobManager(new EventLog());
  let opens = 0;
  await adoptRunningJobs(h1, jobs, saved, () => {
    opens++;
    return Promise.reject(new Error('connect ECONNREFUSED 10.0.0.2:16509'));
  });
  jobs.close();
  const failed = jobs.get('job-1');
  assert.equal(failed?.status, 'failed');
  assert.deepEqual(failed?.storage?.removed, []);
  assert.equal(failed?.storage?.leftover.length, 1);
  assert.match(failed?.storage?.leftover[0]?.error ?? '', /^not removed: cannot reach n2 \(qemu\+tcp:\/\/n2\/system\): connect ECONNREFUSED 10\.0\.0\.2:16509/);
  assert.match(failed?.reason ?? '', /left on the target: images\/g1\.qcow2 \(not removed: cannot reach n2/);
  const moved = jobs.get('job-2');
  assert.equal(moved?.status, 'completed', 'gone from here: it moved, and its volumes hold its disks there');
  assert.deepEqual(moved?.storage?.leftover, []);
  assert.equal(opens, 1, 'only the failed one opens the target');
});

test('planned copies not recorded as made (the agent stopped while making one) are found, by pool and name', () => {
  assert.deepEqual(unrecordedCopies(storage()), [], 'made and recorded');
  const s = { ...storage(), created: [] };
  s.disks.push({ target: 'vdb', action: 'shared', why: 'shared', pool: 'images', volume: 'b.qcow2' }, { target: 'sda', action: 'not-copied', why: 'cdrom' });
  assert.deepEqual(unrecordedCopies(s), [{ pool: 'images', volume: 'g1.qcow2' }], 'only copies: a shared disk is the target\'s own');
});

test('stopped while making the target volume: the volume found there is reported left with why, not removed (it is not known to be ours)', async (t) => {
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 1, seed: 5 });
  t.after(() => sim.close());
  const [h1, h2] = sim.hypervisors;
  assert.ok(h1 && h2);
  const vm = (await h1.listDomains({ active: true, inactive: false }))[0]?.name;
  const pool = (await h2.listPools())[0]?.name;
  assert.ok(vm && pool);
  await h2.createVolume(pool, `<volume><name>${vm}.qcow2</name><capacity unit='bytes'>1048576</capacity></volume>`);
  const base = storage();
  const s: MigrationStorage = { ...base, disks: [{ ...base.disks[0], target: 'vda', action: 'copy', why: 'copied', pool, volume: `${vm}.qcow2` }], created: [] };
  const saved = parseJobsFile(JSON.stringify({ version: 2, jobs: savedJobs([{ ...running(s), vm }]) })).jobs;
  const jobs = new JobManager(new EventLog());
  await adoptRunningJobs(h1, jobs, saved, () => Promise.resolve(handle(h2)));
  jobs.close();
  const j = jobs.get('job-1');
  assert.equal(j?.status, 'failed');
  assert.deepEqual(j?.storage?.removed, []);
  assert.deepEqual(j?.storage?.leftover.map((v) => v.volume), [`${vm}.qcow2`]);
  assert.match(j?.storage?.leftover[0]?.error ?? '', /the agent stopped before recording it as made by this migration/);
  assert.equal((await h2.listVolumes(pool)).some((v) => v.name === `${vm}.qcow2`), true, 'still there');
});
