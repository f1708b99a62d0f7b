/**
 * End-to-end: wall mode on a large terminal against the real `vem demo` in tmux.
 * It fills the screen: a chart per node, the hottest VMs, the level-2 balancer's
 * state (automatic mode, imbalance, the moves it recommends, its decisions) and
 * the latest cluster events; a small terminal keeps the tile wall.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('vem demo: the wall on 200x50 shows node charts, hottest VMs, the balancer and the latest events', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 150_000 }, async (t) => {
  const tm = new Tmux([process.execPath, VEM, 'demo', '--seed', '1', '--time-scale', '4'], { width: 200, height: 50, cwd: ROOT });
  t.after(() => tm.kill());
  await tm.waitFor(/VMs 40 of 40/, 20_000, 'the overview');
  tm.keys(':');
  tm.type('balance auto on 5');
  tm.keys('Enter');
  await tm.waitFor(/automatic balancing on/, 5000, 'automatic mode on');
  tm.keys('w');
  const s = await tm.waitFor((x) => /^ve-manager wall {2}SIMULATED.*AUTO-BALANCE/m.test(x) && /level 2: balancing between nodes/.test(x) && /latest events/.test(x) && /hottest VMs/.test(x), 10_000, 'the big wall');
  for (const n of ['node-01', 'node-02', 'node-03', 'node-04']) assert.match(s, new RegExp(`${n} SIMULATED \\d+/\\d+ VMs {2}cpu`), `a chart tile for ${n}`);
  assert.match(s, /automatic ON {2}imbalance \d/, 'the balancer state');
  assert.match(s, /\d\d:\d\d:\d\d node-\d+ link\/up/, 'the latest events');
  assert.match(s, /^\S+\s+node-\d+\s+[\d.]+%/m, 'a hottest VM row');
  // Automatic mode acts within a minute of the demo's hot node appearing; the wall shows it.
  const d = await tm.waitFor(/\d\d:\d\d:\d\d (taken|declined) /, 90_000, 'a level-2 decision on the wall');
  assert.match(d, /latest decisions/);
  // Charts grow as history comes in: some braille or block glyphs in the node tiles.
  assert.match(d, /[⡀-⣿]/, 'the node charts draw');
  tm.keys('Escape');
  await tm.waitFor(/NAME\s+NODE\s+STATE/, 5000, 'back on the overview');
  tm.keys(':');
  tm.type('q');
  tm.keys('Enter');
  assert.equal(await tm.waitExit(15_000), 0);
});
