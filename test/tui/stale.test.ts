/**
 * A node whose libvirt is down (its agent faults) or whose link is lost keeps its VM rows, marked
 * stale with the time of its last answer: the dashboard never shows a broken node's VMs as plainly
 * "running", nor as gone. Runs the real store and the VM table's renderer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterStore } from '../../src/tui/store/store.js';
import { staleSince } from '../../src/tui/store/model.js';
import { vmLines } from '../../src/tui/views/tables.js';
import { makeTheme } from '../../src/tui/views/theme.js';
import { selectRows } from '../../src/tui/views/vmlist.js';

const theme = makeTheme(true);

function table(s: ClusterStore): string[] {
  const rows = selectRows(s.vms.values(), '', 'name', false);
  return vmLines({ rows, selected: 0, top: 0, focused: false }, 120, 10, theme, 'ascii', new Map(), (n) => staleSince(s.nodes.get(n))).lines.slice(1);
}

test('VM rows of a node with libvirt down are kept and marked stale with the time of the last answer', () => {
  const s = new ClusterStore();
  s.addNode('n1', 'up');
  s.addNode('n2', 'up');
  const before = Date.now();
  s.setVmList('n1', [{ name: 'web-1', uuid: '1', state: 'running', vcpus: 1, memKiB: 1048576, maxMemKiB: 1048576 }]);
  s.setVmList('n2', [{ name: 'db-1', uuid: '2', state: 'running', vcpus: 1, memKiB: 1048576, maxMemKiB: 1048576 }]);
  assert.equal(staleSince(s.nodes.get('n1')), undefined, 'fresh while it answers');
  for (const l of table(s)) assert.match(l, /\brunning\s/, 'fresh rows say running, unmarked');

  // The agent answers with a fault: libvirt is down on n1.
  s.setNodeError('n1', 'vm.watch: fault 2: libvirt is down since 12:00:00 (connection refused)');
  const since = staleSince(s.nodes.get('n1'));
  assert.ok(since !== undefined && since >= before && since <= Date.now(), 'stale since the last answer');
  const hhmm = new Date(since).toTimeString().slice(0, 5);
  const [db, web] = table(s);
  assert.match(web ?? '', new RegExp(`web-1\\s+n1\\s+running\\? ${hhmm}`), 'the down node\'s VM: last state, marked, with the time');
  assert.match(db ?? '', /db-1\s+n2\s+running\s/, 'the other node\'s VM unchanged');
  assert.equal(s.vms.size, 2, 'a broken node\'s VMs are not dropped');

  // The link lost entirely: the same.
  s.setNodeError('n1', undefined);
  s.setLink('n1', 'down', 'connection reset');
  assert.match(table(s)[1] ?? '', /web-1\s+n1\s+running\? \d\d:\d\d/);

  // Back: fresh again.
  s.setLink('n1', 'up');
  s.setVmList('n1', [{ name: 'web-1', uuid: '1', state: 'running', vcpus: 1, memKiB: 1048576, maxMemKiB: 1048576 }]);
  assert.equal(staleSince(s.nodes.get('n1')), undefined);
  assert.match(table(s)[1] ?? '', /web-1\s+n1\s+running\s/);
});

test('a node that never answered is marked "never", not given a time', () => {
  const s = new ClusterStore();
  s.addNode('n1', 'connecting');
  assert.equal(staleSince(s.nodes.get('n1')), 0);
  s.setVmList('n1', [{ name: 'a', uuid: '1', state: 'paused', vcpus: 1, memKiB: 1024, maxMemKiB: 1024 }]);
  const n = s.nodes.get('n1');
  if (n) n.lastAnswerAt = undefined;
  assert.match(table(s)[0] ?? '', /a\s+n1\s+paused\? never/);
});
