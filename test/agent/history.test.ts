import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SampleRing, TickClock, round } from '../../src/agent/history.js';
import { EventLog } from '../../src/agent/events.js';

test('a ring keeps the newest samples and reads after a cursor', () => {
  const r = new SampleRing(['a', 'b'] as const, 4);
  for (let t = 1; t <= 6; t++) r.push(t, { a: t, b: t * 10 });
  assert.equal(r.size, 4);
  assert.equal(r.lastTick(), 6);
  assert.deepEqual(r.columnsAfter(0), { ticks: [3, 4, 5, 6], cols: { a: [3, 4, 5, 6], b: [30, 40, 50, 60] } });
  assert.deepEqual(r.columnsAfter(4).ticks, [5, 6]);
  assert.deepEqual(r.columnsAfter(6).ticks, []);
  assert.deepEqual(r.columnsAfter(0, 2).ticks, [5, 6], 'a limit keeps the newest');
  assert.deepEqual(r.latest(), { a: 6, b: 60 });
  assert.equal(r.bytes(), 4 * 4 + 2 * 4 * 4);
});

test('a ring with gaps (VM off for a while) still answers by tick', () => {
  const r = new SampleRing(['x'] as const, 8);
  for (const t of [1, 2, 7, 8]) r.push(t, { x: t });
  assert.deepEqual(r.columnsAfter(2).ticks, [7, 8]);
  assert.deepEqual(r.columnsAfter(5).ticks, [7, 8]);
});

test('round trims float32 noise', () => {
  assert.equal(round(Math.fround(12.3)), 12.3);
  assert.equal(round(Math.fround(0.12345678)), 0.1235);
  assert.equal(round(Math.fround(123456.7)), 123457);
  assert.equal(round(NaN), 0);
});

test('tick clock maps ticks in the window to times', () => {
  const c = new TickClock(3);
  for (let t = 1; t <= 5; t++) c.record(t, t * 1000);
  assert.equal(c.timeOf(5), 5000);
  assert.equal(c.timeOf(3), 3000);
  assert.ok(Number.isNaN(c.timeOf(2)), 'outside the window');
  assert.ok(Number.isNaN(c.timeOf(6)), 'in the future');
});

test('event log: cursor reads, missed events, long-poll wakes on push and times out', async () => {
  const log = new EventLog(3);
  for (let i = 0; i < 5; i++) log.push('vm', 'k' + i, 'v');
  const r = log.since(0);
  assert.equal(r.missed, true);
  assert.deepEqual(r.events.map((e) => e.seq), [3, 4, 5]);
  assert.equal(r.cursor, 5);
  assert.equal(log.since(3).missed, false);
  assert.deepEqual(log.since(3).events.map((e) => e.seq), [4, 5]);
  const waiting = log.poll(5, 5000);
  setTimeout(() => log.push('job', 'done', 'v', { job: 'j1' }), 20);
  const got = await waiting;
  assert.deepEqual(got.events.map((e) => e.kind), ['done']);
  assert.equal(got.cursor, 6);
  const t0 = Date.now();
  const none = await log.poll(6, 100);
  assert.equal(none.events.length, 0);
  assert.equal(none.cursor, 6);
  assert.ok(Date.now() - t0 >= 90);
  // a cursor from a previous agent run (larger than ours) starts over from now
  assert.equal((await log.poll(1000, 0)).cursor, 6);
});
