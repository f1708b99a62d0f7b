// The balance view's storage readings (pure): one read per node per TTL, the held answer used while the next is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageCache } from '../../src/tui/commands/balance.js';

type Reading = Awaited<ReturnType<ConstructorParameters<typeof StorageCache>[0]>>;

test('storage readings: the first plan waits for a node\'s answer, later plans within the TTL ask nothing, an older one is used while the next is read', async () => {
  let t = 0;
  const reads: string[] = [];
  const answers: Array<(v: Reading) => void> = [];
  const cache = new StorageCache((node) => {
    reads.push(node);
    return new Promise<Reading>((r) => answers.push(r));
  }, 30_000, () => t);
  const first = { pools: [], disks: new Map() } as unknown as Reading;
  const p = cache.get('n1');
  assert.deepEqual(reads, ['n1']);
  answers[0]?.(first);
  assert.equal(await p, first);
  t = 29_999;
  assert.equal(await cache.get('n1'), first);
  assert.deepEqual(reads, ['n1'], 'within the TTL: no call');
  t = 30_000;
  assert.equal(await cache.get('n1'), first, 'past the TTL: the held answer at once');
  assert.deepEqual(reads, ['n1', 'n1'], 'and one new read');
  assert.equal(await cache.get('n1'), first);
  assert.deepEqual(reads, ['n1', 'n1'], 'one read at a time');
  const second = { pools: [], disks: new Map([['vm', []]]) } as unknown as Reading;
  answers[1]?.(second);
  await new Promise((r) => setImmediate(r));
  assert.equal(await cache.get('n1'), second);
  assert.deepEqual(reads, ['n1', 'n1']);
});

test('storage readings: a node that gave no answer is asked again after the TTL, and that plan waits for it', async () => {
  let t = 0;
  let n = 0;
  const cache = new StorageCache(async () => (n++ === 0 ? undefined : ({ pools: [], disks: new Map() } as unknown as Reading)), 1000, () => t);
  assert.equal(await cache.get('n2'), undefined);
  assert.equal(await cache.get('n2'), undefined, 'the unknown is held for the TTL');
  assert.equal(n, 1);
  t = 1000;
  assert.ok(await cache.get('n2'), 'no held answer: the plan waits for the new one');
  assert.equal(n, 2);
});
