/**
 * End-to-end: every long job in the tasks view, against the real `vem demo` in
 * tmux. A clone (the agent's vm.clone job with its volume copies) and a live
 * migration both show in `t`'s job list with their progress and end state,
 * beside the bulk actions; a finished job cannot be cancelled and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('vem demo: a clone and a migration show in the tasks view with progress; x on an ended one says it has ended', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 180_000 }, async (t) => {
  const tm = new Tmux([process.execPath, VEM, 'demo', '--seed', '1', '--time-scale', '4'], { width: 160, height: 48, cwd: ROOT });
  t.after(() => tm.kill());
  await tm.waitFor(/VMs 40 of 40/, 20_000, 'the overview');

  // A clone of a stopped VM.
  tm.keys(':');
  tm.type('clone dev-01');
  tm.keys('Enter');
  await tm.waitFor(/^Clone VM dev-01 on node-\d+[\s\S]*Volumes copied \(\d+\)/m, 10_000, 'the clone screen with its preview');
  tm.keys('C');
  await tm.waitFor(/cloned dev-01 as dev-01-clone on node-\d+|cloning dev-01/, 30_000, 'the clone started');

  // A live migration of a running VM.
  tm.keys('Escape');
  await tm.waitFor((x) => !/^Clone VM dev-01/m.test(x) && /NAME\s+NODE\s+STATE/.test(x), 5000, 'back on the overview');
  await new Promise((r) => setTimeout(r, 300));
  tm.keys(':');
  tm.type('vm web-01');
  tm.keys('Enter');
  await tm.waitFor(/^VM web-01 on node-\d+/m, 5000, 'the VM view');
  tm.keys('m');
  await tm.waitFor(/Migrate web-01 from/, 5000, 'the migrate dialog');
  tm.keys('Enter');
  await tm.waitFor(/Migration of web-01/, 10_000, 'the migration started');
  // Close its progress dialog and the VM view: the tasks view follows it from the overview.
  tm.keys('Escape');
  await tm.waitFor((x) => !/Migration of web-01/.test(x), 5000, 'the dialog closed');
  await new Promise((r) => setTimeout(r, 300));
  tm.keys('Escape');
  await tm.waitFor(/NAME\s+NODE\s+STATE/, 5000, 'back on the overview');
  await new Promise((r) => setTimeout(r, 300));
  tm.keys('t');
  const s = await tm.waitFor((x) => /Jobs: migrations, clones and provisioning/.test(x) && /completed .*clone dev-01 as dev-01-clone on node-\d+\s+volumes (\d+)\/\1 copied/.test(x) && /migrate web-01 node-\d+ -> node-\d+ \(live\)/.test(x), 60_000, 'both jobs in the tasks view');
  assert.match(s, /Recent actions/, 'the bulk actions are still there, below');
  const done = await tm.waitFor(/completed\s+.*100%\s+migrate web-01 node-\d+ -> node-\d+ \(live\)|completed\s+.{0,20}\s+migrate web-01/, 90_000, 'the migration completed');
  const rows = done.split('\n').filter((l) => /^[> ] (running|completed|failed|cancelled) /.test(l));
  assert.ok(rows.length >= 2, `one row per job: ${rows.join(' | ')}`);
  assert.ok(rows.some((r) => r.startsWith('>')), 'one row is selected');

  // Both have ended: cancel refuses and names the state.
  tm.keys('x');
  await tm.waitFor(/has ended \(completed\)/, 5000, 'the refusal to cancel an ended job');
  tm.keys('t');
  tm.keys(':');
  tm.type('q');
  tm.keys('Enter');
  assert.equal(await tm.waitExit(15_000), 0);
});
