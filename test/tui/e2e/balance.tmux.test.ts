/**
 * End-to-end: level 2 from the dashboard against the real `vem demo` in tmux.
 * The demo's hot node makes the balancer's planner recommend a move within a
 * minute; `:balance apply` runs the plan (tasks view); automatic mode moves a
 * VM off the hot node by itself and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');
const MOVE = /^>?\s*(\S+)\s+(node-\d+) -> (node-\d+)\s+(hotspot|imbalance)\s+gain/m;

test('vem demo: :balance shows the imbalance and a move within a minute; :balance apply runs it (tasks); automatic mode moves a VM by itself and logs why', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 240_000 }, async (t) => {
  const tm = new Tmux([process.execPath, VEM, 'demo', '--seed', '1', '--time-scale', '4'], { width: 160, height: 48, cwd: ROOT });
  t.after(() => tm.kill());
  await tm.waitFor(/VMs 40 of 40/, 20_000, 'the overview');

  await t.test('the balance view: imbalance, a hot node, a recommended move with reason, gain and cost', async () => {
    tm.keys(':');
    tm.type('balance');
    tm.keys('Enter');
    // The demo's hot node drifts around the threshold on a loaded machine (77 % seen in CI
    // with a plan for plain imbalance already shown), so wait for the mark, not only the plan.
    const s = await tm.waitFor((x) => /IMBALANCED/.test(x) && MOVE.test(x) && /node-\d+\s+CPU\s+\d+%.*HOT/.test(x), 90_000, 'an imbalance, a hot node and a recommended move');
    assert.match(s, /imbalance \d\.\d{3} \(std of node CPU/);
    assert.match(s, /copy \S+ \+ disk \S+\s+~\d/, 'memory and disk bytes to copy, and the expected time');
    assert.match(s, /Ruled out/);
    // Its keys are in the footer and in ?, from the same bindings.
    assert.match(s, /a apply all/);
  });

  await t.test(':balance apply confirms naming the moves, then runs them in the tasks view', async () => {
    tm.keys(':');
    tm.type('balance apply');
    tm.keys('Enter');
    const c = await tm.waitFor(/Apply the plan: \d+ migrations?\?/, 10_000, 'the confirmation');
    const named = MOVE.exec(c.split('Apply the plan')[1] ?? '') ?? /(\S+)\s+(node-\d+) -> (node-\d+)\s+\((hotspot|imbalance)\)/.exec(c);
    assert.ok(named, 'the confirmation names a move');
    tm.keys('y');
    await tm.waitFor(/took\s+plan applied: \S+\s+node-\d+ -> node-\d+ \((hotspot|imbalance)/, 10_000, 'the decision on record');
    tm.keys('t');
    await tm.waitFor(/balance \(plan applied\): \d+ ok, \d+ failed/, 10_000, 'the task');
    await tm.waitFor(/balance \(plan applied\): [1-9]\d* ok/, 150_000, 'a move done');
    tm.keys('t');
  });

  await t.test('automatic mode: the header says so, a round moves a VM off the hot node and logs why', async () => {
    tm.keys(':');
    tm.type('balance auto on 5');
    tm.keys('Enter');
    await tm.waitFor(/automatic mode on: a round every 5 s/, 10_000, 'auto on, on record');
    await tm.waitFor(/took\s+automatic: \S+\s+node-\d+ -> node-\d+ \((hotspot|imbalance), score/, 90_000, 'an automatic move with its reason');
    tm.keys('Escape');
    await tm.waitFor(/AUTO-BALANCE/, 5000, 'the header');
    tm.keys(':');
    tm.type('balance auto off');
    tm.keys('Enter');
    await tm.waitFor((x) => !/AUTO-BALANCE/.test(x), 5000, 'auto off');
    tm.keys('q');
    assert.equal(await tm.waitExit(15_000), 0);
  });
});
