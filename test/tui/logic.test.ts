import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNode, newVm, type NodeRecord, type VmRecord } from '../../src/tui/store/model.js';
import { fitOn, planEvacuation, targetsFor } from '../../src/tui/commands/plan.js';
import { globMatcher, matchesFilter, selectRows } from '../../src/tui/views/vmlist.js';
import { actionFor, COMMANDS, findCommand, helpLines, KEYS } from '../../src/tui/keymap.js';
import { VIEWS } from '../../src/tui/views/registry.js';

function node(name: string, memGiB: number, usedGiB: number, link: NodeRecord['link'] = 'up'): NodeRecord {
  const n = newNode(name, link);
  n.host = { hostname: name, uri: `sim://${name}`, driver: 'Simulated', hypervisorVersion: '', simulated: true, cpus: 8, memoryKiB: memGiB * 1048576, libvirtUp: true };
  n.vmMemKiB = usedGiB * 1048576;
  return n;
}

function vm(n: string, name: string, memGiB: number, state = 'running', cpu?: number): VmRecord {
  const v = newVm(n, name);
  v.memKiB = memGiB * 1048576;
  v.state = state;
  v.cpuPct = cpu;
  return v;
}

test('fit check: memory left, link down, same node', () => {
  const v = vm('n1', 'web', 4);
  assert.equal(fitOn(v, node('n2', 16, 10)).fits, true);
  assert.equal(fitOn(v, node('n2', 16, 10)).freeAfterKiB, 2 * 1048576);
  assert.equal(fitOn(v, node('n2', 16, 14)).reason, 'not enough memory');
  assert.equal(fitOn(v, node('n2', 64, 0, 'down')).reason, 'link down');
  assert.equal(fitOn(v, node('n1', 64, 0)).reason, 'same node');
  const order = targetsFor(v, [node('n1', 64, 0), node('n2', 16, 14), node('n3', 32, 4), node('n4', 16, 0)]);
  assert.deepEqual(order.map((f) => f.node), ['n3', 'n4', 'n2']);
});

test('evacuation plan spreads VMs, reserves memory as it goes, and names VMs that fit nowhere', () => {
  const nodes = [node('n1', 32, 20), node('n2', 16, 8), node('n3', 16, 10)];
  const vms = [vm('n1', 'a', 6), vm('n1', 'b', 5), vm('n1', 'c', 8), vm('n1', 'off', 2, 'shutoff'), vm('n2', 'other', 1)];
  const plan = planEvacuation('n1', nodes, vms);
  assert.deepEqual(plan.map((s) => [s.vm.name, s.target ?? `none: ${s.reason}`]), [
    ['c', 'n2'],
    ['a', 'n3'],
    ['b', 'none: no node has room'],
    ['off', 'n2'],
  ]);
});

test('filter, sort and glob marks', () => {
  const rows = [vm('n1', 'web-2', 1, 'running', 50), vm('n2', 'web-10', 1, 'running', 90), vm('n1', 'db-1', 1, 'shutoff')];
  assert.equal(matchesFilter(rows[0] as VmRecord, 'WEB n1'), true);
  assert.equal(matchesFilter(rows[1] as VmRecord, 'web n1'), false);
  assert.equal(matchesFilter(rows[2] as VmRecord, '!running'), true);
  assert.deepEqual(selectRows(rows, '', 'name', false).map((r) => r.name), ['db-1', 'web-2', 'web-10']);
  assert.deepEqual(selectRows(rows, '', 'cpu', false).map((r) => r.name), ['web-10', 'web-2', 'db-1']);
  assert.deepEqual(selectRows(rows, 'web', 'name', true).map((r) => r.name), ['web-10', 'web-2']);
  const m = globMatcher('web-*');
  assert.equal(m('web-01'), true);
  assert.equal(m('xweb-01'), false);
  assert.equal(globMatcher('db-?')('db-1'), true);
  assert.equal(globMatcher('a.b')('axb'), false);
});

test('keymap: no key bound twice in a scope, help lists every key and command, every issue 9 name is built (none reserved)', () => {
  const seen = new Set<string>();
  for (const b of KEYS) {
    for (const k of b.keys) {
      const id = `${b.scope}:${k}`;
      assert.ok(!seen.has(id), `${id} bound twice`);
      seen.add(id);
    }
  }
  const help = helpLines().join('\n');
  for (const b of KEYS) assert.ok(help.includes(b.help), `help misses ${b.action}`);
  for (const c of COMMANDS) assert.ok(help.includes(`:${c.name}`), `help misses :${c.name}`);
  for (const name of ['create', 'clone', 'edit', 'xml', 'storage', 'networks', 'guest', 'delete']) {
    assert.equal(findCommand(name)?.reserved, undefined, name);
    assert.ok(VIEWS.find((v) => v.id === name) && !VIEWS.find((v) => v.id === name)?.reserved, name);
  }
  assert.equal(actionFor('K', ['table', 'global'])?.action, 'clone');
  assert.ok(!KEYS.some((b) => b.reserved) && !COMMANDS.some((c) => c.reserved), 'nothing left reserved');
  assert.equal(findCommand('q')?.name, 'quit');
  assert.equal(findCommand('mig')?.name, 'migrate');
  assert.equal(findCommand('zzz'), undefined);
  assert.equal(actionFor('E', ['nodes', 'table', 'global'])?.action, 'evacuate');
  assert.equal(actionFor('E', ['table', 'global']), undefined);
  assert.equal(actionFor('T', ['nodes', 'table', 'global'])?.action, 'trustHostKey');
  assert.equal(actionFor('R', ['nodes', 'table', 'global'])?.action, 'reconnect');
  assert.equal(findCommand('trust')?.name, 'trust');
  assert.equal(actionFor('?', ['table', 'global'])?.action, 'help');
});
