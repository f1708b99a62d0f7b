// The passphrase broker: questions asked before the dashboard exists wait for it, one at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassphraseBroker } from '../../src/tui/views/passphrase.js';

test('questions wait for the dashboard, are asked one at a time, and get no answer after it closes', async () => {
  const b = new PassphraseBroker();
  const asked: string[] = [];
  let settled = 0;
  const first = b.ask('/k1', 1);
  const second = b.ask('/k2', 1);
  void first.then(() => settled++);
  void second.then(() => settled++);
  await new Promise((r) => setTimeout(r, 10));
  // Before the dashboard attaches, both questions wait: neither is answered (nor refused).
  assert.equal(settled, 0, 'questions wait for the dashboard');
  const answers: Array<(s: string | undefined) => void> = [];
  const answer = (s: string | undefined): void => answers.shift()?.(s);
  b.attach((path) => {
    asked.push(path);
    return new Promise<string | undefined>((r) => void answers.push(r));
  });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(asked, ['/k1'], 'one question at a time');
  answer('p1');
  assert.equal(await first, 'p1');
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(asked, ['/k1', '/k2']);
  answer(undefined);
  assert.equal(await second, undefined);
  const late = new PassphraseBroker();
  const q = late.ask('/k3', 1);
  late.close();
  assert.equal(await q, undefined, 'a closed dashboard answers nothing');
});
