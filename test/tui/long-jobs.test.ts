// The tasks view's job list (pure): migrations and clones together, running first,
// progress from the followers' figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longJobs } from '../../src/tui/store/tasks.js';
import type { Migration } from '../../src/tui/commands/index.js';
import type { CloneFollow } from '../../src/tui/store/manage.js';

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
