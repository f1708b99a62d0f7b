/**
 * End-to-end: the cluster event log (:events, L) against the real `vem demo` in
 * tmux. Moves applied from `:balance apply` show in the tasks view and in the log
 * (the level-2 decision and the agents' job events); `/` filters the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('vem demo: :balance apply moves show in the tasks view and in :events; the log filters', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 240_000 }, async (t) => {
  const tm = new Tmux([process.execPath, VEM, 'demo', '--seed', '1', '--time-scale', '4'], { width: 160, height: 48, cwd: ROOT });
  t.after(() => tm.kill());
  await tm.waitFor(/VMs 40 of 40/, 20_000, 'the overview');

  // Seeded at start: the agents' recent events and the links coming up.
  tm.keys('L');
  await tm.waitFor(/Events\s+\d+ in this session/, 10_000, 'the event log');
  await tm.waitFor(/\d\d:\d\d:\d\d node-\d+ link\/up/, 10_000, 'link up events');
  tm.keys('L');

  tm.keys(':');
  tm.type('balance');
  tm.keys('Enter');
  await tm.waitFor(/^>?\s*\S+\s+node-\d+ -> node-\d+\s+(hotspot|imbalance)\s+gain/m, 60_000, 'a recommended move');
  tm.keys(':');
  tm.type('balance apply');
  tm.keys('Enter');
  await tm.waitFor(/Apply the plan: \d+ migrations?\?/, 10_000, 'the confirmation');
  tm.keys('y');
  tm.keys('t');
  await tm.waitFor(/balance \(plan applied\): [1-9]\d* ok/, 150_000, 'a move done in the tasks view');
  tm.keys('t');

  tm.keys(':');
  tm.type('events');
  tm.keys('Enter');
  const s = await tm.waitFor(/level2\/taken plan applied: \S+\s+node-\d+ -> node-\d+/, 10_000, 'the decision in the log');
  assert.match(s, /node-\d+ job\/\S+/, "the agents' job events are in the log");
  // Newest first: the decision line is above the link-up lines of the start.
  assert.ok(s.search(/level2\/taken/) < s.search(/link\/up/) || !/link\/up/.test(s), 'newest first');

  tm.keys('/');
  tm.type('level2');
  const f = await tm.waitFor(/filter: level2/, 5000, 'the filter');
  const rows = f.split('\n').filter((l) => /^\d\d:\d\d:\d\d /.test(l));
  assert.ok(rows.length > 0, 'some rows match');
  for (const r of rows) assert.match(r, /level2/, `only matching rows: ${r}`);
  tm.keys('Enter');
  tm.keys('Escape');
  tm.keys(':');
  tm.type('q');
  tm.keys('Enter');
  assert.equal(await tm.waitExit(15_000), 0);
});
