// Two admins at once: two real XML-RPC clients against one agent (over the SIMULATED
// hypervisor, its clock held so a migration stays running), and the lease table's
// expiry on a given clock.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSimCluster, ManualClock } from '../../src/libvirt/sim/index.js';
import { startAgent } from '../../src/agent/index.js';
import { LEASE_HELD, LeaseTable } from '../../src/agent/lease.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';

const isFault = (code: number, re: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof XmlRpcFault, `want a fault, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, re);
  return true;
};

test('lease table: the same holder renews, another is refused naming the holder, an unrenewed lease expires, a released one is free', () => {
  let now = 1_000_000;
  const t = new LeaseTable(() => now);
  const a = t.acquire('balance', 'alice@ws1 vem balance --auto', 'level-2 balancing', 10_000, 'tcp:127.0.0.1:1');
  assert.throws(() => t.acquire('balance', 'bob@ws2', 'level-2 balancing', 10_000, 'tcp:127.0.0.1:2'), isFault(LEASE_HELD, /held by alice@ws1 vem balance --auto \(level-2 balancing\) since/));
  now += 9_000;
  assert.equal(t.renew(a.token, 10_000).expiresAt, now + 10_000);
  now += 9_000; // 18 s after taking it: still held thanks to the renewal
  assert.throws(() => t.acquire('balance', 'bob@ws2', 'x', 10_000, 'c'), isFault(LEASE_HELD, /alice/));
  now += 1_001; // the holder died: no renewal
  const b = t.acquire('balance', 'bob@ws2', 'level-2 balancing', 10_000, 'c');
  assert.equal(b.holder, 'bob@ws2');
  assert.throws(() => t.renew(a.token, 10_000), isFault(1003, /expired or was released/));
  assert.equal(t.release(b.token)?.holder, 'bob@ws2');
  assert.deepEqual(t.list(), []);
  assert.throws(() => t.acquire('', 'x', 'y', 1, 'c'), isFault(1004, /scope and a holder/));
});

test('two admins over XML-RPC: the balance lease shows who holds it; a VM being migrated refuses another migrate, destroy, clone, undefine naming the job and who started it; all of it audited', async (t) => {
  const clock = new ManualClock();
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 2, seed: 17, clock });
  const [hvA] = sim.hypervisors;
  assert.ok(hvA);
  const dir = mkdtempSync(join(tmpdir(), 'vem-lease-'));
  const auditLog = join(dir, 'audit.log');
  const agent = await startAgent({ hypervisor: hvA, listen: '127.0.0.1:0', pollMs: 60_000, auditLog });
  const alice = new XmlRpcClient({ url: agent.url });
  const bob = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    alice.close();
    bob.close();
    await agent.close();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The cluster-wide balancing lease.
  const l = (await alice.call('lease.acquire', 'balance', 'alice@ws1 vem balance --auto', 'level-2 balancing', 20)) as { token: string; holder: string; expiresAt: number; since: number };
  assert.equal(l.holder, 'alice@ws1 vem balance --auto');
  assert.equal(typeof l.token, 'string');
  await assert.rejects(bob.call('lease.acquire', 'balance', 'bob@ws2 vem balance --auto', 'level-2 balancing'), isFault(LEASE_HELD, /held by alice@ws1 vem balance --auto \(level-2 balancing\) since \d\d:\d\d:\d\dZ, from tcp:127\.0\.0\.1:\d+/));
  const listed = (await bob.call('leases.list')) as Array<{ scope: string; holder: string; token?: string }>;
  assert.deepEqual(listed.map((x) => [x.scope, x.holder, x.token]), [['balance', 'alice@ws1 vem balance --auto', undefined]], 'the list shows the holder, never the token');
  await assert.rejects(bob.call('lease.renew', 'not-a-token'), isFault(1003, /no such lease/));
  assert.equal(await alice.call('lease.release', l.token), true);
  const l2 = (await bob.call('lease.acquire', 'balance', 'bob@ws2 vem balance --auto', 'level-2 balancing')) as { holder: string };
  assert.equal(l2.holder, 'bob@ws2 vem balance --auto');

  // One VM, two admins: alice migrates it (the held clock keeps the job running).
  const vms = (await alice.call('vm.list')) as Array<{ name: string; state: string }>;
  const vm = vms.find((v) => v.state === 'running')?.name;
  assert.ok(vm, 'a running VM');
  const jobId = (await alice.call('vm.migrate', vm, 'sim://node-02', { bandwidthMiBs: 1 })) as string;
  const job = (await alice.call('job.get', jobId)) as { status: string; caller: string };
  assert.equal(job.status, 'running');
  for (const [m, args] of [
    ['vm.migrate', [vm, 'sim://node-02']],
    ['vm.destroy', [vm]],
    ['vm.undefine', [vm]],
    ['vm.clone', [vm, `${vm}-copy`]],
  ] as const) {
    await assert.rejects(bob.call(m, ...args), isFault(LEASE_HELD, new RegExp(`${m.replace('.', '\\.')} ${vm} refused: a migration of ${vm} to sim://node-02 \\(${jobId}\\) started by ${job.caller.replace(/\./g, '\\.')} at .* job\\.cancel ${jobId}`)));
  }
  await assert.rejects(bob.call('lease.acquire', `vm:${vm}`, 'bob@ws2', 'resize'), isFault(LEASE_HELD, new RegExp(`vm:${vm} is busy: a migration of ${vm}`)));
  const busy = (await bob.call('leases.list')) as Array<{ scope: string; holder: string; op: string }>;
  assert.ok(busy.some((x) => x.scope === `vm:${vm}` && x.holder === job.caller && x.op === `migrate ${jobId}`), JSON.stringify(busy));
  // Reads and changes to other VMs go on.
  const other = vms.find((v) => v.name !== vm)?.name as string;
  await bob.call('vm.suspend', other);
  await bob.call('vm.resume', other);
  // Alice's own cancel is not a conflicting change; after it the VM is free again.
  await alice.call('job.cancel', jobId);
  for (let i = 0; i < 50 && ((await alice.call('job.get', jobId)) as { status: string }).status === 'running'; i++) {
    clock.advance(100);
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(((await alice.call('job.get', jobId)) as { status: string }).status, 'cancelled');
  const free = (await bob.call('lease.acquire', `vm:${vm}`, 'bob@ws2', 'resize')) as { scope: string };
  assert.equal(free.scope, `vm:${vm}`);

  // The audit log has the leases and the refusals, each with its fault.
  const lines = readFileSync(auditLog, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { method?: string; result?: { fault?: { code: number } }; intent?: unknown });
  const outcomes = lines.filter((x) => x.intent === undefined);
  assert.equal(outcomes.filter((x) => x.method === 'lease.acquire').length, 5, 'three taken, two refused');
  assert.equal(outcomes.filter((x) => x.method === 'lease.release').length, 1);
  for (const m of ['vm.migrate', 'vm.destroy', 'vm.undefine', 'vm.clone']) {
    assert.ok(outcomes.some((x) => x.method === m && x.result?.fault?.code === LEASE_HELD), `${m}'s refusal is audited`);
  }
});
