import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtBytes, fmtDuration, fmtKiB, fmtPct, fmtRate, fmtUsedTotal } from '../../src/tui/format/units.js';
import { cell, escapeTags, layoutColumns, renderHeader, renderRow, visibleWindow, type Column, wrapText } from '../../src/tui/format/text.js';
import { bar, detectGlyphs, lineChart, sparkline } from '../../src/tui/format/chart.js';

test('bytes, rates, percentages and durations read like an admin expects', () => {
  assert.equal(fmtBytes(0), '0B');
  assert.equal(fmtBytes(1023), '1023B');
  assert.equal(fmtBytes(1536), '1.5K');
  assert.equal(fmtBytes(10 * 1024 * 1024), '10M');
  assert.equal(fmtBytes(150 * 1024 ** 3), '150G');
  assert.equal(fmtBytes(undefined), '-');
  assert.equal(fmtKiB(2 * 1024 * 1024), '2.0G');
  assert.equal(fmtRate(2048), '2.0K/s');
  assert.equal(fmtPct(5.55), '5.5%');
  assert.equal(fmtPct(42.4), '42%');
  assert.equal(fmtPct(0), '0%');
  assert.equal(fmtPct(NaN), '-');
  assert.equal(fmtDuration(850), '850ms');
  assert.equal(fmtDuration(12_340), '12.3s');
  assert.equal(fmtDuration(245_000), '4m05s');
  assert.equal(fmtDuration(2 * 3600_000 + 3 * 60_000), '2h03m');
  assert.equal(fmtUsedTotal(12 * 1024 * 1024, 32 * 1024 * 1024), '12/32G');
  assert.equal(fmtUsedTotal(512 * 1024, 32 * 1024 * 1024), '0.5/32G');
});

test('cells cut with a marker and pad to the exact width', () => {
  assert.equal(cell('abc', 5), 'abc  ');
  assert.equal(cell('abc', 5, 'right'), '  abc');
  assert.equal(cell('abcdefgh', 5), 'abcd~');
  assert.equal(cell('abcdefgh', 1), 'a');
  assert.equal(cell('x', 0), '');
  assert.equal(escapeTags('{red-fg}x{/}'), '{open}red-fg{close}x{open}/{close}');
});

test('table layout drops low-priority columns on narrow screens and grows names on wide ones', () => {
  const cols: Column<{ n: string; v: number }>[] = [
    { id: 'n', title: 'NAME', min: 6, max: 20, get: (r) => r.n },
    { id: 'v', title: 'VAL', min: 5, align: 'right', get: (r) => String(r.v) },
    { id: 'x', title: 'EXTRA', min: 10, drop: 1, get: () => 'extra' },
  ];
  const narrow = layoutColumns(cols, 14);
  assert.deepEqual(narrow.columns.map((c) => c.col.id), ['n', 'v']);
  assert.ok(renderRow(narrow, { n: 'web-01', v: 7 }).length <= 14);
  const wide = layoutColumns(cols, 60);
  assert.deepEqual(wide.columns.map((c) => [c.col.id, c.w]), [['n', 20], ['v', 5], ['x', 10]]);
  assert.equal(renderHeader(wide).length, 20 + 1 + 5 + 1 + 10);
  assert.equal(renderRow(wide, { n: 'a', v: 12 }), 'a'.padEnd(20) + ' ' + '   12' + ' ' + 'extra'.padEnd(10));
});

test('the visible window follows the selection', () => {
  assert.equal(visibleWindow(100, 10, 0, 0), 0);
  assert.equal(visibleWindow(100, 10, 15, 0), 6);
  assert.equal(visibleWindow(100, 10, 3, 6), 3);
  assert.equal(visibleWindow(100, 10, 99, 0), 90);
  assert.equal(visibleWindow(5, 10, 4, 3), 0);
});

test('sparklines scale to the max, pad missing history, and have an ASCII form', () => {
  assert.equal(sparkline([0, 50, 100], 5, 100), '  ▁▅█');
  assert.equal(sparkline([0, 50, 100], 3, 100, 'ascii'), '_+@');
  assert.equal(sparkline([200], 1, 100), '█');
  assert.equal(sparkline([1, 2, 3, 4], 2, 4), '▆█');
});

test('line charts: braille fills under the line, ASCII uses # columns', () => {
  const u = lineChart([0, 100], { width: 1, height: 2, max: 100 });
  assert.equal(u.length, 2);
  // right column full height (4+4 dots), left column empty
  assert.equal(u[0], String.fromCharCode(0x2800 + 0x08 + 0x10 + 0x20 + 0x80));
  assert.equal(u[1], String.fromCharCode(0x2800 + 0x08 + 0x10 + 0x20 + 0x80));
  const half = lineChart([50, 50], { width: 1, height: 2, max: 100 });
  assert.equal(half[0], ' ');
  assert.equal(half[1], '⣿');
  const a = lineChart([100, 50, 0], { width: 3, height: 2, max: 100, glyphs: 'ascii' });
  assert.deepEqual(a, ['#  ', '## ']);
  assert.equal(bar(0.5, 4, 'ascii'), '##..');
  assert.equal(bar(2, 3), '███');
  assert.equal(detectGlyphs({ LANG: 'C' }), 'ascii');
  assert.equal(detectGlyphs({ LANG: 'en_US.UTF-8' }), 'unicode');
  assert.equal(detectGlyphs({ LANG: 'en_US.UTF-8', VEM_ASCII: '1' }), 'ascii');
});

test('wrapText breaks at spaces within the width, cuts only a word longer than a line, and keeps to maxLines', () => {
  const msg = "no guest agent answers in this VM: it has no running virtio channel 'org.vemanager.guest.0'";
  const lines = wrapText(msg, 40);
  assert.ok(lines.every((l) => l.length <= 40), JSON.stringify(lines));
  assert.equal(lines.join(' '), msg, 'nothing lost or cut');
  assert.ok(lines.some((l) => l.includes("'org.vemanager.guest.0'")), 'the channel name is whole');
  assert.deepEqual(wrapText('abcdefghij xy', 5), ['abcd~', 'xy']);
  const two = wrapText('one two three four five six', 9, 2);
  assert.equal(two.length, 2);
  assert.ok((two[1] ?? '').endsWith('~'), 'the last kept line says more was left');
  assert.deepEqual(wrapText('', 10), []);
});
