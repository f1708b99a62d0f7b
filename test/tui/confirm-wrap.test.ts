// Confirmation dialogs wrap long lines between words at the box's width; the network stop/delete
// confirmation names its VMs on one such line, with "+N more" past 40 (at 80x24 the box is 78 wide
// inside: before, names were cut in half at the edge and those after six lines were lost).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NAMES_SHOWN, namesLine } from '../../src/tui/screens/networks.js';
import { ConfirmDialog } from '../../src/tui/views/dialogs.js';
import type { AppHost } from '../../src/tui/views/page.js';

const host = {} as AppHost;
const INSIDE_80 = Math.min(80 - 2, 96) - 2;

test('a confirmation wraps each long line between words, never wider than the box, and keeps short lines as written', () => {
  const vms = Array.from({ length: 30 }, (_, i) => `ci-runner-${String(i).padStart(2, '0')}`);
  const d = new ConfirmDialog(host, ['Stop network default on node-01?', 'VMs on it lose their network:', namesLine(vms), 'a   b'], () => undefined);
  const lines = d.lines(INSIDE_80);
  for (const l of lines) assert.ok(l.length <= INSIDE_80, `line wider than the box: ${l}`);
  // Every name whole, each exactly once, in order.
  const names = lines.slice(2, -3).join(' ').split(/,\s*/).map((x) => x.trim());
  assert.deepEqual(names, vms);
  assert.equal(lines.at(-3), 'a   b', 'a short line keeps its spacing');
  assert.equal(lines.at(-1), 'y confirm   n/Esc cancel');
});

test('the network confirmation counts the VMs past 40 instead of dropping them', () => {
  const vms = Array.from({ length: 57 }, (_, i) => `web-${i}`);
  const line = namesLine(vms);
  assert.match(line, new RegExp(`, \\+${57 - NAMES_SHOWN} more$`));
  assert.equal(line.split(', ').length, NAMES_SHOWN + 1);
  assert.equal(namesLine(['a', 'b']), 'a, b');
  const lines = new ConfirmDialog(host, ['VMs on it lose their network:', line], () => undefined).lines(INSIDE_80);
  // 40 names and the count fit in a 80x24 screen's dialog (24 rows less borders and status).
  assert.ok(lines.length <= 24 - 4, `${lines.length} lines`);
  assert.ok(lines.some((l) => l.endsWith('+17 more')));
});
