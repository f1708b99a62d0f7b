// Two admins balancing one cluster from two dashboards: the `balance` lease
// against two real `vem agent --sim` agents (child processes started here),
// reached through real direct links on 127.0.0.1. First the lease itself (all or
// nothing, the holder named, expiry when its holder stops renewing), then two
// dashboards' automatic modes (their store, pollers and command layer, without
// the screen): the second moves nothing and says who holds the lease; turning the
// first off or closing a dashboard gives it back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDirectLink, type NodeLink } from '../../src/link/index.js';
import { BalanceLease, describeHolder, whoAmI } from '../../src/link/balance-lease.js';
import { ClusterStore } from '../../src/tui/store/store.js';
import { NodePoller } from '../../src/tui/store/poller.js';
import { CommandCenter } from '../../src/tui/commands/index.js';
import { BalanceCenter } from '../../src/tui/commands/balance.js';
import { startVemAgent, type VemAgent } from '../vem-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vem-tui-lease-'));
const agents: VemAgent[] = [];
const links: NodeLink[] = [];

async function until(cond: () => boolean | Promise<boolean>, what: () => string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Listed = Array<{ scope: string; holder: string; op: string; since: number }>;
async function balanceHolders(): Promise<string[]> {
  const out: string[] = [];
  for (const l of links) for (const x of (await l.call('leases.list')) as Listed) if (x.scope === 'balance') out.push(`${l.name}=${x.holder}`);
  return out.sort();
}

before(async () => {
  for (const [name, vms] of [['n1', 4], ['n2', 1]] as const) {
    const a = await startVemAgent(['--sim', '--sim-vms', String(vms), '--listen', '127.0.0.1:0', '--audit-log', join(dir, `${name}.jsonl`), '--poll-ms', '200']);
    agents.push(a);
    links.push(openDirectLink(name, a.url));
  }
});

after(async () => {
  await Promise.allSettled(links.map((l) => l.close()));
  for (const a of agents) a.proc.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('whoAmI names user, host, tool and process', () => {
  assert.match(whoAmI('vem tui'), new RegExp(`^[^@]+@[^:]+:vem tui:${process.pid}$`));
});

test('two leases on two agents: the first holds both, the second is refused naming it and holds nothing; all or nothing; an unrenewed lease runs out', async () => {
  const alice = new BalanceLease(() => links, { holder: 'alice@ws1:vem tui:101', ttlSec: 30 });
  const bob = new BalanceLease(() => links, { holder: 'bob@ws2:vem tui:202', ttlSec: 30 });
  const a = await alice.acquire();
  assert.ok(a.ok);
  assert.deepEqual(a.nodes, ['n1', 'n2']);
  const b = await bob.acquire();
  assert.ok(!b.ok, 'bob must be refused');
  assert.equal(b.refused.node, 'n1');
  assert.equal(b.refused.holder, 'alice@ws1:vem tui:101');
  assert.equal(b.refused.op, 'level-2 balancing');
  assert.match(describeHolder(b.refused), /^alice@ws1:vem tui:101 \(level-2 balancing\) since \d\d:\d\d:\d\dZ$/);
  assert.deepEqual(bob.held(), []);
  assert.deepEqual(await balanceHolders(), ['n1=alice@ws1:vem tui:101', 'n2=alice@ws1:vem tui:101']);
  // Renewing keeps it (the same token), and the holder asking again is not refused.
  assert.ok((await alice.renew()).ok);
  await alice.release();
  assert.deepEqual(await balanceHolders(), []);

  // All or nothing: carol holds n2 only; bob takes n1, is refused on n2, and gives n1 back.
  const n2 = links[1];
  assert.ok(n2);
  const carol = new BalanceLease(() => [n2], { holder: 'carol@ws3:vem balance:303', ttlSec: 1 });
  assert.ok((await carol.acquire()).ok);
  const b2 = await bob.acquire();
  assert.ok(!b2.ok);
  assert.equal(b2.refused.node, 'n2');
  assert.equal(b2.refused.holder, 'carol@ws3:vem balance:303');
  assert.deepEqual(await balanceHolders(), ['n2=carol@ws3:vem balance:303'], 'bob gave n1 back');
  // Carol dies (no renewal): after her 1 s TTL bob gets both.
  await new Promise((r) => setTimeout(r, 1300));
  const b3 = await bob.acquire();
  assert.ok(b3.ok, JSON.stringify(b3));
  assert.deepEqual(await balanceHolders(), ['n1=bob@ws2:vem tui:202', 'n2=bob@ws2:vem tui:202']);
  await bob.release();
  assert.deepEqual(await balanceHolders(), []);
});

/** One dashboard's parts over the shared links: its own store, pollers and command layer. */
function dashboard(holder: string): { center: BalanceCenter; store: ClusterStore; stop: () => void } {
  const store = new ClusterStore();
  const pollers = links.map((l) => new NodePoller(l, store, { refreshMs: 300 }));
  for (const p of pollers) p.start();
  const cmd = new CommandCenter({ store, link: (n) => links.find((l) => l.name === n), invalidate: () => undefined });
  const center = new BalanceCenter(store, cmd, { everySec: 1, holder });
  return { center, store, stop: () => pollers.forEach((p) => p.stop()) };
}

test('two dashboards in automatic mode: the second moves nothing and its event log names the holder; turning the first off frees it for the second; closing gives it back', async (t) => {
  const one = dashboard('alice@ws1:vem tui:111');
  const two = dashboard('bob@ws2:vem tui:222');
  t.after(() => {
    one.center.close();
    two.center.close();
    one.stop();
    two.stop();
  });
  const texts = (c: BalanceCenter, taken?: boolean): string[] => c.decisions.filter((d) => taken === undefined || d.taken === taken).map((d) => d.text);
  // Both stores see both nodes up before automatic mode starts.
  await until(() => [one, two].every((d) => ['n1', 'n2'].every((n) => d.store.nodes.get(n)?.link === 'up' && d.store.nodes.get(n)?.host !== undefined)), () => 'both dashboards seeing both nodes up');
  assert.deepEqual(await balanceHolders(), []);
  one.center.setAuto(true);
  await until(async () => (await balanceHolders()).join() === 'n1=alice@ws1:vem tui:111,n2=alice@ws1:vem tui:111', () => `alice holding both; decisions: ${texts(one.center).join(' | ')}`);
  assert.ok(texts(one.center, true).some((x) => /balance lease taken on n1, n2 as alice@ws1:vem tui:111, 61 s unless renewed/.test(x)), texts(one.center).join(' | '));

  two.center.setAuto(true);
  const refusal = /^automatic round: nothing moved: no balance lease on n1: alice@ws1:vem tui:111 \(level-2 balancing\) since \d\d:\d\d:\d\dZ$/;
  await until(() => texts(two.center, false).filter((x) => refusal.test(x)).length >= 2, () => `two refused rounds; decisions: ${texts(two.center).join(' | ')}`);
  // Nothing moved by the second: no migration, no task, no lease held.
  const cmdTwo = (two.center as unknown as { cmd: CommandCenter }).cmd;
  assert.equal(cmdTwo.migrations.size, 0);
  assert.equal(cmdTwo.tasks.length, 0);
  assert.deepEqual(two.center.lease.held(), []);
  assert.ok(!texts(two.center).some((x) => /^automatic round: no move|plan|->/.test(x)), `the second planned nothing: ${texts(two.center).join(' | ')}`);

  // The first turns automatic mode off: it gives the lease back and the second's next round takes it.
  one.center.setAuto(false);
  await until(() => texts(one.center, true).includes('automatic: balance lease released'), () => texts(one.center).join(' | '));
  await until(async () => (await balanceHolders()).join() === 'n1=bob@ws2:vem tui:222,n2=bob@ws2:vem tui:222', () => `bob holding both; decisions: ${texts(two.center).join(' | ')}`);

  // Closing the second dashboard gives it back before the links would close.
  two.center.close();
  await two.center.released();
  assert.deepEqual(await balanceHolders(), []);
});
