import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterStore } from '../../src/tui/store/store.js';
import { storeSource } from '../../src/tui/commands/balance.js';
import type { CommandCenter } from '../../src/tui/commands/index.js';

test("the dashboard's balancer source carries the cluster file's labels (maintenance) onto the snapshot", async () => {
  const store = new ClusterStore();
  store.addNode('n1', 'up');
  store.addNode('n2', 'up');
  const cmd = { migrations: new Map() } as unknown as CommandCenter;
  const labels = (n: string): string[] | undefined => (n === 'n1' ? ['maintenance', 'rack1'] : undefined);
  const s = await storeSource(store, cmd, () => 1000, labels).snapshot();
  assert.deepEqual(s.nodes.find((n) => n.name === 'n1')?.labels, ['maintenance', 'rack1']);
  assert.equal(s.nodes.find((n) => n.name === 'n2')?.labels, undefined);
  const plain = await storeSource(store, cmd, () => 1000).snapshot();
  assert.equal(plain.nodes.find((n) => n.name === 'n1')?.labels, undefined);
});
