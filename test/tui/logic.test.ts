import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNode, newVm, type NodeRecord, type VmRecord } from '../../src/tui/store/model.js';
import { fitOn, planEvacuation, targetsFor } from '../../src/tui/commands/plan.js';
import { globMatcher, matchesFilter, selectRows } from '../../src/tui/views/vmlist.js';
import { bind, duplicateKeys, findCommandIn, findKey, footerHints } from '../../src/tui/keymap.js';
import { GLOBAL, helpSections, helpText } from '../../src/tui/views/app.js';
import { OVERVIEW } from '../../src/tui/views/overview.js';

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

test('evacuation (the balancer planner): spreads VMs, reserves memory as it goes, moves stopped ones offline, names every VM that stays', () => {
  const nodes = [node('n1', 32, 20), node('n2', 16, 8), node('n3', 16, 10)];
  const vms = [vm('n1', 'a', 6), vm('n1', 'b', 5), vm('n1', 'c', 8), vm('n1', 'off', 2, 'shutoff'), vm('n2', 'other', 1)];
  const plan = planEvacuation('n1', nodes, vms);
  // The balancer's planner: biggest first onto the least loaded node, memory reserved as it goes.
  const where = new Map(plan.map((s) => [s.vm.name, s]));
  assert.equal(where.get('c')?.target, 'n2');
  assert.equal(where.get('a')?.target, 'n3');
  assert.equal(where.get('b')?.target, undefined);
  assert.match(where.get('b')?.reason ?? '', /n2|n3|room|memory/);
  assert.equal(where.get('off')?.live, false, 'a stopped VM moves offline');
  assert.ok(where.get('off')?.target, 'a stopped VM needs no room now');
  // Every VM of the node is accounted for, and no other node's VM is touched.
  assert.deepEqual([...where.keys()].sort(), ['a', 'b', 'c', 'off']);
  // One node: nothing can go, and each VM is named with why.
  const alone = planEvacuation('n1', [node('n1', 32, 20)], [vm('n1', 'x', 1), vm('n1', 'y', 1, 'paused')]);
  assert.equal(alone.length, 2);
  for (const s of alone) assert.match(s.reason ?? '', /only node/);
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
  // Character classes, as the shell reads them (the web-0[12] marked nothing).
  const two = globMatcher('web-0[12]');
  assert.deepEqual(['web-01', 'web-02', 'web-03', 'web-012'].filter(two), ['web-01', 'web-02']);
  assert.deepEqual(['db-a', 'db-b', 'db-9'].filter(globMatcher('db-[a-z]')), ['db-a', 'db-b']);
  assert.deepEqual(['a1', 'b1', 'c1'].filter(globMatcher('[!a]1')), ['b1', 'c1']);
  assert.equal(globMatcher('odd[')('odd['), true, 'an unclosed [ is a plain character');
});

test('bindings: no key bound twice in a table (unless one is conditional), ? lists every binding and command of every screen, commands resolve by prefix', () => {
  const sections = helpSections();
  for (const s of sections) {
    const fixed = s.bindings.filter((b) => !(b as { when?: unknown }).when);
    assert.deepEqual(duplicateKeys(fixed), [], `${s.title}: keys bound twice`);
  }
  const help = helpText().join('\n');
  for (const s of sections) {
    assert.ok(help.includes(s.title), `help misses the section ${s.title}`);
    for (const b of s.bindings) {
      if (b.keys.length > 0) assert.ok(help.includes(b.help), `help misses ${s.title}: ${b.help}`);
      if (b.command) assert.ok(help.includes(`:${b.command}`), `help misses :${b.command}`);
    }
  }
  for (const title of ['Storage', 'Networks', 'Guest browser', 'Create VM', 'Clone VM', 'Edit VM', 'XML edit', 'Delete VM', 'Migration dialog', 'Snapshots', 'Wall mode']) assert.ok(sections.some((s) => s.title.startsWith(title)), title);
  const overview = bind({} as never, OVERVIEW);
  for (const name of ['create', 'clone', 'edit', 'xml', 'storage', 'networks', 'guest', 'delete', 'vm', 'node', 'migrate', 'evacuate', 'trust', 'reconnect', 'console', 'filter', 'sort']) assert.equal(findCommandIn(overview, name)?.command, name);
  assert.equal(findCommandIn(overview, 'mig')?.command, 'migrate');
  assert.equal(findCommandIn(overview, 'zzz'), undefined);
  const global = bind({} as never, GLOBAL);
  assert.equal(findCommandIn(global, 'q')?.command, 'quit');
  assert.equal(findKey(overview, 'K')?.command, 'clone');
  assert.equal(findKey(global, '?')?.command, 'help');
});

test('footer hints: whole pairs only, never a hint cut in the middle', () => {
  const b = bind({} as never, OVERVIEW);
  for (const w of [40, 80, 120, 160]) {
    const f = footerHints(b, w);
    assert.ok(f.length <= w, `${w}: ${f}`);
    const parts = f.replace(/\s+~$/, '').split('  ');
    for (const p of parts) assert.ok(b.some((x) => x.hint !== undefined && p.endsWith(x.hint)), `${w}: '${p}' is not a whole hint`);
  }
});
