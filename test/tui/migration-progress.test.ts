// The migration dialog with a disk copy: disk and memory progress apart. libvirt's
// data_* counts the disks too, so while the disks copy (no memory_* yet) the memory
// line must not show the disk bytes as memory sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationLines } from '../../src/tui/views/panels.js';
import { copyAmounts } from '../../src/tui/views/migration-progress.js';
import { makeTheme } from '../../src/tui/views/theme.js';
import type { Migration } from '../../src/tui/commands/index.js';
import type { WireJob } from '../../src/tui/store/decode.js';

const MiB = 1024 * 1024;
const mig = (job: WireJob): Migration => ({ id: job.id, vmKey: 'n1/g1', vm: 'g1', from: 'n1', to: 'n2', live: true, job, startedAt: 0, finished: false });

test('while the disks copy: the disk line shows the disk bytes, the memory line none of them', () => {
  const job: WireJob = { id: 'j', state: 'running', elapsedMs: 5000, dataTotal: 448 * MiB, dataProcessed: 10 * MiB, dataRemaining: 438 * MiB, diskTotal: 64 * MiB, diskProcessed: 10 * MiB, diskRemaining: 54 * MiB };
  assert.deepEqual(copyAmounts(job), { memory: { sent: undefined, remaining: undefined, total: undefined }, disk: { copied: 10 * MiB, remaining: 54 * MiB, total: 64 * MiB } });
  const lines = migrationLines(mig(job), 100, makeTheme(true), 'ascii');
  assert.match(lines[1] ?? '', /^disks 10M of 64M copied, 54M left$/);
  assert.match(lines[2] ?? '', /^memory sent - /);
  assert.ok(!lines.some((l) => /sent 10/.test(l)), lines.join('\n'));
});

test('then memory: memory_* for memory; without a disk copy data_* is the memory, as before', () => {
  const both = copyAmounts({ id: 'j', state: 'running', dataProcessed: 100 * MiB, memProcessed: 36 * MiB, memTotal: 384 * MiB, memRemaining: 348 * MiB, diskTotal: 64 * MiB, diskProcessed: 64 * MiB, diskRemaining: 0 });
  assert.deepEqual(both.memory, { sent: 36 * MiB, remaining: 348 * MiB, total: 384 * MiB });
  const memOnly = copyAmounts({ id: 'j', state: 'running', dataProcessed: 5 * MiB, dataRemaining: 7 * MiB, dataTotal: 12 * MiB });
  assert.deepEqual(memOnly, { memory: { sent: 5 * MiB, remaining: 7 * MiB, total: 12 * MiB } });
  const lines = migrationLines(mig({ id: 'j', state: 'cancelled', dataProcessed: 5 * MiB, dataRemaining: 7 * MiB, dataTotal: 12 * MiB, storage: { mode: 'copy', disks: [], created: [{ pool: 'images', volume: 'g1.qcow2' }], removed: [{ pool: 'images', volume: 'g1.qcow2' }], leftover: [] } }), 100, makeTheme(true), 'ascii');
  assert.match(lines[1] ?? '', /^target volumes removed: g1\.qcow2$/);
  assert.match(lines[2] ?? '', /^sent 5\.0M {2}remaining 7\.0M of 12M/);
});
