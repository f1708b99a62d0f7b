import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, detailText, eventLine } from '../../src/tui/store/events.js';

test('event log: newest first, filter by all words, capped, JSON lines oldest first', () => {
  const log = new EventLog();
  log.addAgent('n1', [
    { seq: 1, at: 1000, source: 'domain', kind: 'lifecycle', vm: 'web-1', detail: { event: 'started' } },
    { seq: 2, at: 2000, source: 'job', kind: 'failed', vm: 'db-1', detail: { reason: 'no route', job: 7 } },
  ]);
  log.add({ at: 3000, node: '-', source: 'level2', kind: 'taken', text: 'plan applied: web-1 n1 -> n2' });
  assert.deepEqual(log.newest().map((e) => e.kind), ['taken', 'failed', 'lifecycle']);
  assert.deepEqual(log.newest('n1 JOB').map((e) => e.vm), ['db-1']);
  assert.deepEqual(log.newest('web-1').map((e) => e.source), ['level2', 'domain']);
  assert.equal(log.newest('', 1).length, 1);
  assert.equal(eventLine(log.newest('db-1')[0]!), 'n1 job/failed db-1 reason=no route job=7');
  const lines = log.jsonLines().trim().split('\n').map((l) => JSON.parse(l) as { at: number });
  assert.deepEqual(lines.map((l) => l.at), [1000, 2000, 3000]);
  for (let i = 0; i < 6000; i++) log.add({ at: i, node: 'n', source: 'vm', kind: 'x', text: '' });
  assert.equal(log.size, 5000);
  assert.equal(detailText({ a: 1, b: '', c: { d: 2 } }), 'a=1 c={"d":2}');
});
