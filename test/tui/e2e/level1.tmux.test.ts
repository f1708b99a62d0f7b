/**
 * End-to-end: level 1 in the node view, and the event log's JSON export, against
 * the real `vem demo` in tmux (its agents are real agents over SIMULATED nodes).
 * `l` on a node view asks, then switches level 1 on through the agent; the view
 * then lists the adjustments the agent made (before -> after, with the reason),
 * which came to the dashboard as agent events; `:events export FILE` writes the
 * session's log as JSON lines holding them, and refuses to overwrite the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('vem demo: the node view switches level 1 on and lists its adjustments; :events export writes them as JSON lines', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-l1-e2e-'));
  const out = join(dir, 'events.jsonl');
  const tm = new Tmux([process.execPath, VEM, 'demo', '--seed', '1', '--time-scale', '4'], { width: 160, height: 48, cwd: ROOT });
  t.after(() => {
    tm.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await tm.waitFor(/VMs 40 of 40/, 20_000, 'the overview');

  tm.keys(':');
  tm.type('node node-01');
  tm.keys('Enter');
  await tm.waitFor(/level 1 \(between this node's VMs\): off/, 15_000, 'level 1 off in the node view');
  tm.keys('l');
  await tm.waitFor(/Switch level-1 balancing ON on node node-01\?/, 5000, 'the confirmation');
  tm.keys('y');
  await tm.waitFor(/level 1 \(between this node's VMs\): ON/, 10_000, 'level 1 on');
  const s = await tm.waitFor(/^\s+\d\d:\d\d:\d\d \S+\s+shares\s+\d+ -> \d+\s+\S/m, 30_000, 'a shares adjustment, before -> after, with its reason');
  const row = s.split('\n').find((l) => /shares\s+\d+ -> \d+/.test(l)) ?? '';
  const [, from, to] = /shares\s+(\d+) -> (\d+)/.exec(row) ?? [];
  assert.notEqual(from, to, `an adjustment changes the value: ${row}`);
  // The status is read again every few seconds while the view shows.
  await tm.waitFor(/ticks [1-9]\d*\s+applied [1-9]\d*/, 15_000, 'the agent counting its ticks and changes');

  // The same adjustments are in the event log, and exported as JSON lines.
  tm.keys(':');
  tm.type(`events export ${out}`);
  tm.keys('Enter');
  await tm.waitFor(/exported \d+ events to /, 10_000, 'the export');
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { node: string; source: string; kind: string; vm?: string; detail?: { what?: string; after?: number; reason?: string } });
  const l1 = lines.filter((e) => e.node === 'node-01' && e.source === 'balancer' && e.kind === 'level1');
  assert.ok(l1.length > 0, 'level-1 adjustments are in the export');
  assert.ok(l1.every((e) => typeof e.vm === 'string' && typeof e.detail?.after === 'number' && typeof e.detail.reason === 'string'), 'each with its VM, new value and reason');
  assert.ok(lines.some((e) => e.node === 'node-01' && e.kind === 'level1-on'), 'the switch is in the export');
  const size = readFileSync(out, 'utf8').length;
  tm.keys(':');
  tm.type(`events export ${out}`);
  tm.keys('Enter');
  await tm.waitFor(/exists; give a new file name \(nothing was overwritten\)/, 10_000, 'the refusal to overwrite');
  assert.equal(readFileSync(out, 'utf8').length, size, 'the first export is intact');

  // Off again from the view.
  tm.keys('l');
  await tm.waitFor(/Switch level-1 balancing OFF on node node-01\?/, 5000, 'the confirmation to switch off');
  tm.keys('y');
  await tm.waitFor(/level 1 \(between this node's VMs\): off/, 10_000, 'level 1 off again');
  tm.keys(':');
  tm.type('q');
  tm.keys('Enter');
  assert.equal(await tm.waitExit(15_000), 0);
});
