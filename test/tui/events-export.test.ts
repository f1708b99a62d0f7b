// The event log's export (:events export FILE, x in the log) on a real file
// system, and the node view's level-1 changes read from the log's agent events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../../src/tui/store/events.js';
import { level1Changes } from '../../src/tui/store/level1.js';
import { exportEvents } from '../../src/tui/views/events.js';

function sample(): EventLog {
  const log = new EventLog();
  log.addAgent('n1', [
    { seq: 1, at: 1000, source: 'balancer', kind: 'level1-on', detail: { caps: false } },
    { seq: 2, at: 2000, source: 'balancer', kind: 'level1', vm: 'web-1', detail: { what: 'shares', before: 1024, after: 2048, reason: 'demand' } },
    { seq: 3, at: 3000, source: 'balancer', kind: 'level1', vm: 'db-1', detail: { what: 'balloon', after: 524288, reason: 'memory pressure' } },
  ]);
  log.addAgent('n2', [{ seq: 1, at: 2500, source: 'balancer', kind: 'level1', vm: 'x', detail: { what: 'shares', before: 1, after: 2, reason: 'r' } }]);
  log.add({ at: 4000, node: '-', source: 'level2', kind: 'declined', text: 'cooldown' });
  return log;
}

test('export: JSON lines oldest first with the agent detail; an existing file is refused and kept', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-evx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = sample();
  const r = exportEvents(log, 'log.jsonl', dir);
  assert.equal(r.path, join(dir, 'log.jsonl'));
  assert.equal(r.count, 5);
  const rows = readFileSync(r.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { at: number; detail?: { after?: number } });
  assert.deepEqual(rows.map((x) => x.at), [1000, 2000, 3000, 2500, 4000], 'in the order they came');
  assert.equal(rows[1]?.detail?.after, 2048);
  writeFileSync(join(dir, 'old.jsonl'), 'precious\n');
  assert.throws(() => exportEvents(log, 'old.jsonl', dir), /exists; give a new file name \(nothing was overwritten\)/);
  assert.equal(readFileSync(join(dir, 'old.jsonl'), 'utf8'), 'precious\n');
  assert.throws(() => exportEvents(log, '  ', dir), /give a file name/);
  assert.throws(() => exportEvents(log, 'no/such/folder/x.jsonl', dir), /no folder for/);
});

test("level-1 changes: one node's balancer/level1 events, newest first, before -> after with the reason", () => {
  const c = level1Changes(sample(), 'n1', 10);
  assert.deepEqual(c, [
    { at: 3000, vm: 'db-1', what: 'balloon', after: 524288, reason: 'memory pressure' },
    { at: 2000, vm: 'web-1', what: 'shares', before: 1024, after: 2048, reason: 'demand' },
  ]);
  assert.equal(level1Changes(sample(), 'n1', 1).length, 1);
  assert.deepEqual(level1Changes(sample(), 'n3', 10), []);
});
