// The balance view's background replans keep a pace set by how long a plan takes (pure: an empty store, a fake clock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BalanceCenter, PLAN_PACE } from '../../src/tui/commands/balance.js';
import { CommandCenter } from '../../src/tui/commands/index.js';
import { ClusterStore } from '../../src/tui/store/store.js';

test('a background replan within PLAN_PACE times the last plan\'s duration keeps the plan; r (not background) and later ones plan again', async () => {
  const store = new ClusterStore();
  const cmd = new CommandCenter({ store, link: () => undefined, invalidate: () => undefined });
  let clock = 0;
  let plans = 0;
  // Each read of the pace clock moves it 50 ms: a plan (its start and its end) takes 50 ms.
  const center = new BalanceCenter(store, cmd, { now: () => ++plans, paceClock: () => (clock += 50) });
  const first = await center.refresh();
  assert.ok(first);
  const at = first.at;
  assert.equal(await center.refresh({ background: true }), first, 'right after: the plan as it is');
  assert.equal(center.plan?.at, at);
  const again = await center.refresh();
  assert.notEqual(again?.at, at, 'not background: planned again at once');
  clock += 100 * PLAN_PACE;
  const later = await center.refresh({ background: true });
  assert.notEqual(later?.at, again?.at, 'past the pace: planned again');
});
