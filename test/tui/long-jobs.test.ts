// The tasks view's job list (pure): migrations, clones and provisioning together, running first,
// progress from the followers' figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longJobs } from '../../src/tui/store/tasks.js';
import type { Migration } from '../../src/tui/commands/index.js';
import type { CloneFollow, ProvisionFollow } from '../../src/tui/store/manage.js';
import type { Job } from '../../src/api/index.js';

test('long jobs: running first then newest; percent and detail from the job figures', () => {
  const mig: Migration = { id: 'j1', vmKey: 'n1/web', vm: 'web', from: 'n1', to: 'n2', live: true, job: { id: 'j1', state: 'completed', dataProcessed: 512 * 1048576, dataTotal: 1024 * 1048576 }, startedAt: 1000, finished: true };
  const clone: CloneFollow = { node: 'n2', source: 'db', name: 'db-clone', job: 'j7', state: 'running', percent: 0, bytesDone: 256 * 1048576, bytesTotal: 1024 * 1048576, volumes: [{ target: 'vda', pool: 'p', to: 'db-clone.qcow2', done: true }, { target: 'vdb', pool: 'p', to: 'x', done: false }], startedAt: 500 };
  const failed: CloneFollow = { ...clone, job: 'j8', name: 'bad', state: 'failed', error: 'pool full', startedAt: 2000, volumes: [] };
  const jobs = longJobs([mig], [clone, failed]);
  assert.deepEqual(jobs.map((j) => j.job), ['j7', 'j8', 'j1']);
  const [c, f, m] = jobs;
  assert.equal(c?.percent, 25);
  assert.equal(c?.detail, 'volumes 1/2 copied, 256 MiB of 1024 MiB');
  assert.equal(c?.vmKey, 'n2/db');
  assert.equal(f?.error, 'pool full');
  assert.equal(m?.percent, 50);
  assert.equal(m?.label, 'migrate web n1 -> n2 (live)');
  assert.equal(m?.node, 'n1', 'job.cancel goes to the source node');
  assert.equal(longJobs([mig], [clone, failed], [], 1).length, 1);
});

test('long jobs: a provisioning job with its steps as percent and words, its reason as the error, and one the dashboard lost track of', () => {
  const steps = (done: number): Array<{ step: 'disk' | 'seed' | 'define' | 'start'; done: boolean }> => (['disk', 'seed', 'define', 'start'] as const).map((step, i) => ({ step, done: i < done }));
  const job = (status: 'running' | 'failed', done: number, reason?: string): Job => ({
    id: 'j9', kind: 'provision', vm: 'templates/deb.qcow2', dest: 'web-7', status, startedAt: 1, elapsedMs: 5, cancelRequested: false, caller: 'tcp:127.0.0.1:4000', options: {},
    ...(reason !== undefined ? { reason } : {}),
    provision: { name: 'web-7', template: 'templates/deb.qcow2', steps: steps(done), disk: { pool: 'default', volume: 'web-7.qcow2', backing: '/t/deb.qcow2', capacity: 1 }, seed: { pool: 'default', volume: 'web-7-seed.iso' }, start: true, ...(status === 'failed' ? { failedStep: 'start' as const } : {}) },
  });
  const running: ProvisionFollow = { node: 'n1', id: 'j9', name: 'web-7', template: 'templates/deb.qcow2', by: 'dashboard', startedAt: 3000, job: job('running', 2) };
  const failed: ProvisionFollow = { ...running, id: 'j10', by: 'events', startedAt: 2000, job: job('failed', 3, 'step start failed: no memory') };
  const lost: ProvisionFollow = { node: 'n2', id: 'j11', name: 'x', template: 't', by: 'events', startedAt: 1000, lost: 'lost track of job j11: no job' };
  // Running first (the lost one counts as running), then the ended ones.
  const [r, l, f] = longJobs([], [], [failed, lost, running]);
  assert.deepEqual(r && [r.kind, r.node, r.job, r.vmKey, r.label, r.state, r.percent, r.detail, r.error], ['provision', 'n1', 'j9', 'n1/web-7', 'provision web-7 from templates/deb.qcow2 on n1', 'running', 50, 'disk, seed done; now define', undefined]);
  assert.equal(r?.provision?.provision?.steps.length, 4, 'the steps for the tasks view to draw');
  assert.deepEqual(f && [f.state, f.percent, f.detail, f.error], ['failed', 75, 'disk, seed, define done (started elsewhere, by tcp:127.0.0.1:4000)', 'step start failed: no memory']);
  // The lost one is still running as far as anyone knows, and says why it is no longer followed.
  assert.deepEqual(l && [l.state, l.detail, l.error], ['running', 'starting', 'lost track of job j11: no job']);
});
