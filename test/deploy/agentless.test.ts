// Pure parts of agentless nodes: the cluster file's `agent: none` and `uri:`, which of the
// node's sockets are tried (as libvirt's ssh transport does), and the relayed URI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterFile } from '../../src/link/cluster-file.js';
import { agentlessNote, libvirtSocketCandidates, relayedUri } from '../../src/link/agentless-host.js';
import { parseLibvirtUri } from '../../src/libvirt/uri.js';

test('agent: none marks a node agentless; uri: picks its driver; both are checked', () => {
  const c = parseClusterFile('nodes:\n  - name: a\n    ssh: root@h\n    agent: none\n  - name: b\n    ssh: h2\n    agent: none\n    uri: lxc:///\n  - name: c\n    ssh: h3\n');
  assert.equal(c.nodes[0]?.agentless, true);
  assert.equal(c.nodes[0]?.uri, undefined);
  assert.equal(c.nodes[1]?.uri, 'lxc:///');
  assert.equal(c.nodes[2]?.agentless, undefined);
  assert.throws(() => parseClusterFile('nodes:\n  - name: a\n    url: https://h:1/\n    agent: none\n'), /line 4: nodes\[0\]\.agent: an agentless node .* reached through 'ssh'/);
  assert.throws(() => parseClusterFile('nodes:\n  - name: a\n    ssh: h\n    agent: none\n    uri: qemu+ssh://h/system\n'), /line 5: nodes\[0\]\.uri: expected a URI as seen on the node/);
  assert.throws(() => parseClusterFile('nodes:\n  - name: a\n    ssh: h\n    uri: nonsense\n'), /nodes\[0\]\.uri: not a libvirt URI/);
});

test('the sockets tried on the node: libvirtd\'s, then the driver\'s modular daemon; a socket= in the URI alone', () => {
  assert.deepEqual(libvirtSocketCandidates('qemu:///system'), ['/var/run/libvirt/libvirt-sock', '/var/run/libvirt/virtqemud-sock']);
  assert.deepEqual(libvirtSocketCandidates('lxc:///'), ['/var/run/libvirt/libvirt-sock', '/var/run/libvirt/virtlxcd-sock']);
  assert.deepEqual(libvirtSocketCandidates('test:///default'), ['/var/run/libvirt/libvirt-sock']);
  assert.deepEqual(libvirtSocketCandidates('qemu:///system?socket=/srv/l.sock'), ['/srv/l.sock']);
});

test('the relayed URI keeps the driver, path and daemon parameters and goes through the local socket', () => {
  const u = parseLibvirtUri(relayedUri('qemu:///system?socket=/x&foo=1', '/tmp/d/libvirt.sock'));
  assert.equal(u.transport, 'unix');
  assert.equal(u.socket, '/tmp/d/libvirt.sock');
  assert.equal(u.daemonUri, 'qemu:///system?foo=1');
  assert.equal(parseLibvirtUri(relayedUri('test:///srv/node.xml', '/s')).daemonUri, 'test:///srv/node.xml');
});

test('the node list note says what an agentless node lacks', () => {
  const n = agentlessNote(new Date(2026, 0, 1, 9, 5).getTime());
  assert.match(n, /^agentless: history since 09:05 only; level-1 balancing only while vem runs/);
});

test('vem node add/remove edit the cluster file keeping its comments, and refuse a duplicate or a bad entry', async () => {
  const { withNodeAdded, withNodeRemoved } = await import('../../src/link/cluster-file.js');
  const first = withNodeAdded(undefined, { name: 'a', ssh: 'root@h1', agentless: true });
  assert.equal(parseClusterFile(first).nodes[0]?.agentless, true);
  const src = '# my cluster\nnodes:\n  - name: b # the old one\n    ssh: h2\n';
  const two = withNodeAdded(src, { name: 'a', ssh: 'u@h1:2222', identity: '/k' });
  assert.match(two, /# my cluster/);
  assert.match(two, /# the old one/);
  assert.deepEqual(parseClusterFile(two).nodes.map((n) => [n.name, n.ssh, n.identity]), [['b', 'h2', undefined], ['a', 'u@h1:2222', '/k']]);
  assert.throws(() => withNodeAdded(two, { name: 'a', ssh: 'h' }), /already there/);
  assert.throws(() => withNodeAdded(src, { name: 'bad name', ssh: 'h' }), /letters, digits/);
  assert.throws(() => withNodeAdded('nodes: 3\n', { name: 'c', ssh: 'h' }), /expected a list of nodes/);
  const one = withNodeRemoved(two, 'b');
  assert.deepEqual(parseClusterFile(one).nodes.map((n) => n.name), ['a']);
  assert.throws(() => withNodeRemoved(one, 'zz'), /no node named 'zz'/);
});
