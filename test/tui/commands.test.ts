// The command layer's bookkeeping with a scripted link (pure logic: per-VM
// progress and results, bounded concurrency, migration follow-up). The real
// agent behind it is exercised by the end-to-end tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CommandCenter } from '../../src/tui/commands/index.js';
import { ClusterStore } from '../../src/tui/store/store.js';
import type { Link, XmlRpcValue } from '../../src/tui/store/link.js';
import { makeTheme } from '../../src/tui/views/theme.js';

function scripted(name: string, answer: (method: string, params: XmlRpcValue[]) => Promise<XmlRpcValue>): Link & { calls: string[] } {
  const calls: string[] = [];
  return {
    name,
    state: 'up',
    calls,
    on() {},
    call(method, ...params) {
      calls.push(`${method}(${params.map((p) => JSON.stringify(p)).join(',')})`);
      return answer(method, params);
    },
    openConsole: async () => new PassThrough(),
    close: async () => {},
  };
}

function setup(links: Array<Link>): { store: ClusterStore; cmd: CommandCenter; invalidated: string[] } {
  const store = new ClusterStore();
  const invalidated: string[] = [];
  for (const l of links) {
    store.setVmList(l.name, [
      { name: `${l.name}-a`, uuid: '', state: 'running', vcpus: 1, memKiB: 1024, maxMemKiB: 1024 },
      { name: `${l.name}-b`, uuid: '', state: 'running', vcpus: 1, memKiB: 1024, maxMemKiB: 1024 },
    ]);
  }
  const cmd = new CommandCenter({ store, link: (n) => links.find((l) => l.name === n), invalidate: (n) => invalidated.push(n) });
  return { store, cmd, invalidated };
}

test('a bulk action across nodes reports every VM, failures by name, and refreshes each node', async () => {
  let inFlight = 0;
  let peak = 0;
  const answer = async (m: string, p: XmlRpcValue[]): Promise<XmlRpcValue> => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    if (p[0] === 'n2-b') throw new Error('domain is not running');
    return true;
  };
  const n1 = scripted('n1', answer);
  const n2 = scripted('n2', answer);
  const { store, cmd, invalidated } = setup([n1, n2]);
  const task = await cmd.vmOp('suspend', [...store.vms.values()]);
  assert.deepEqual(n1.calls.sort(), ['vm.suspend("n1-a")', 'vm.suspend("n1-b")']);
  assert.deepEqual(task.items.map((i) => [i.vm, i.state]), [['n1/n1-a', 'ok'], ['n1/n1-b', 'ok'], ['n2/n2-a', 'ok'], ['n2/n2-b', 'failed']]);
  assert.equal(task.items[3]?.message, 'domain is not running');
  assert.equal(task.done, true);
  assert.equal(cmd.statusIsError, true);
  assert.match(cmd.status, /suspend: 3 ok, 1 failed \(n2\/n2-b: domain is not running\)/);
  assert.equal(store.vms.get('n1/n1-a')?.state, 'paused', 'optimistic state after success');
  assert.equal(store.vms.get('n2/n2-b')?.state, 'running', 'no change after a failure');
  assert.deepEqual([...new Set(invalidated)].sort(), ['n1', 'n2']);
  assert.ok(peak > 1 && peak <= 8, `concurrency ${peak}`);
});

test('a migration is followed with job.get until it ends, keeping the last figures', async () => {
  let polls = 0;
  // What every job.get answer carries (src/api's job type).
  const job = { id: 'job-7', kind: 'migrate', vm: 'n1-a', dest: 'qemu+tcp://127.0.0.3/system', startedAt: 1, elapsedMs: 5, cancelRequested: false, caller: 'test', options: {} };
  const n1 = scripted('n1', async (m): Promise<XmlRpcValue> => {
    if (m === 'vm.migrate') return 'job-7';
    if (m === 'job.get') {
      polls++;
      return polls < 2 ? { ...job, status: 'running', progress: { type: 'unbounded', memTotal: 100, memRemaining: 60, memIteration: 2, memDirtyRate: 5, memBps: 50, expectedDowntimeMs: 30 } } : { ...job, status: 'completed' };
    }
    return true;
  });
  const n2 = scripted('n2', async () => true);
  const { store, cmd } = setup([n1, n2]);
  store.setHost('n2', { hostname: 'n2', uri: 'qemu+tcp://127.0.0.3/system', driver: 'QEMU', hypervisorVersion: '', simulated: false, cpus: 4, memoryKiB: 1 << 24, libvirtUp: true });
  const vm = store.vms.get('n1/n1-a');
  assert.ok(vm);
  const m = await cmd.migrate(vm, 'n2', true);
  assert.equal(n1.calls[0], 'vm.migrate("n1-a","qemu+tcp://127.0.0.3/system",{"live":true})');
  assert.ok(store.pinned.has('n1/n1-a'), 'kept on screen while it moves');
  while (!m.finished) await new Promise((r) => setTimeout(r, 50));
  assert.equal(m.job.state, 'completed');
  assert.equal(m.job.memIteration, 2, 'figures from the last running poll survive completion');
  assert.equal(m.job.downtimeMs, 30);
  assert.equal(store.pinned.has('n1/n1-a'), false);
  assert.match(cmd.status, /migrated n1-a to n2/);
});

test('migration target URI: the migrate-uri of the cluster file, else ssh to the SSH host of the node, else as reported, else tcp to the host', () => {
  const { store } = setup([]);
  const config: Record<string, { migrateUri?: string; sshHost?: string }> = { e: { migrateUri: 'qemu+tls://e.example/system', sshHost: 'e' }, f: { sshHost: '10.0.0.6' } };
  const cmd = new CommandCenter({ store, link: () => undefined, invalidate: () => undefined, nodeConfig: (n) => config[n] });
  const host = (uri: string, hostname = 'h2') => ({ hostname, uri, driver: 'QEMU', hypervisorVersion: '', simulated: false, cpus: 4, memoryKiB: 1, libvirtUp: true });
  store.setHost('a', host('sim://a'));
  store.setHost('b', host('qemu:///system'));
  store.setHost('c', host('qemu+unix:///system?socket=/run/x/libvirt-sock', 'n3'));
  store.setHost('d', host('qemu+tcp://10.0.0.4/system'));
  assert.equal(cmd.destUri('a'), 'sim://a');
  assert.equal(cmd.destUri('b'), 'qemu+tcp://h2/system');
  assert.equal(cmd.destUri('c'), 'qemu+tcp://n3/system');
  assert.equal(cmd.destUri('d'), 'qemu+tcp://10.0.0.4/system');
  store.setHost('e', host('qemu:///system'));
  store.setHost('f', host('xen:///system'));
  assert.equal(cmd.destUri('e'), 'qemu+tls://e.example/system');
  assert.equal(cmd.destUri('f'), 'xen+ssh://10.0.0.6/system');
});

test('the monochrome theme (NO_COLOR) uses no colour tags; the colour theme does', () => {
  const mono = makeTheme(true);
  const colour = makeTheme(false);
  for (const f of ['ok', 'warn', 'bad', 'dim', 'head', 'sim', 'sel'] as const) assert.doesNotMatch(mono[f]('x'), /-fg|-bg/);
  assert.match(colour.ok('x'), /green-fg/);
  assert.equal(mono.sel('x'), '{inverse}x{/inverse}');
});

test('reads coalesce: calls during a read share one follow-up read, never more', async () => {
  const { Coalescer } = await import('../../src/tui/commands/coalesce.js');
  const c = new Coalescer();
  let runs = 0;
  const gates: Array<() => void> = [];
  const read = (): Promise<void> => {
    runs++;
    return new Promise<void>((r) => gates.push(r));
  };
  const first = c.run('n1', read);
  const second = c.run('n1', read);
  const third = c.run('n1', read);
  assert.equal(second, third, 'callers meanwhile share the follow-up');
  assert.equal(runs, 1);
  const other = c.run('n2', read);
  assert.equal(runs, 2, 'another key reads at once');
  gates.shift()?.();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 3, 'one follow-up read');
  gates.shift()?.();
  gates.shift()?.();
  await Promise.all([second, other]);
  assert.equal(runs, 3);
});
