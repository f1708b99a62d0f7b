// The guest browser says a VM's CPU in top's unit, the one its process list uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vmTopPct } from '../../../src/tui/screens/guest.js';

test("a VM's share of its node becomes top's per-CPU figure; unknown stays unknown", () => {
  // The demo's case: 3.9 % of a 64-CPU node is 2.5 CPUs busy, which top shows as 250 %.
  assert.equal(vmTopPct(3.9, 64)?.toFixed(1), '249.6');
  assert.equal(vmTopPct(50, 2), 100);
  assert.equal(vmTopPct(undefined, 64), undefined);
  assert.equal(vmTopPct(10, undefined), undefined);
  assert.equal(vmTopPct(10, 0), undefined);
});
