import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClusterFile, parseAgentAddress, parseClusterFile, parseSshSpec, ClusterFileError } from '../../src/link/cluster-file.js';

const good = `name: lab
nodes:
  - name: n1
    ssh: root@10.0.0.11:22
    identity: /keys/id_ed25519
    agent: unix:/run/vem/agent.sock
    labels: [rack1, ssd]
  - name: n2
    ssh: node2
  - name: n3
    url: https://10.0.0.13:8731
    token-file: /etc/vem/n3.token
    ca-file: /etc/vem/n3-ca.pem
    migrate-uri: qemu+tls://n3.example/system
`;

test('a good cluster file gives every field', () => {
  const c = parseClusterFile(good);
  assert.equal(c.name, 'lab');
  assert.equal(c.nodes.length, 3);
  assert.deepEqual(c.nodes[0], {
    name: 'n1', ssh: 'root@10.0.0.11:22', identity: '/keys/id_ed25519',
    agent: { kind: 'unix', path: '/run/vem/agent.sock' }, labels: ['rack1', 'ssd'],
  });
  assert.equal(c.nodes[1]?.ssh, 'node2');
  assert.deepEqual(c.nodes[1]?.agent, { kind: 'unix', path: '/run/vem/agent.sock' });
  assert.equal(c.nodes[2]?.url, 'https://10.0.0.13:8731');
  assert.equal(c.nodes[2]?.tokenFile, '/etc/vem/n3.token');
  assert.equal(c.nodes[2]?.caFile, '/etc/vem/n3-ca.pem');
  assert.equal(c.nodes[2]?.migrateUri, 'qemu+tls://n3.example/system');
});

function errOf(text: string): string {
  try {
    parseClusterFile(text, 'cluster.yaml');
  } catch (e) {
    assert.ok(e instanceof ClusterFileError);
    return e.message;
  }
  assert.fail('no error');
}

test('a bad ssh value is named with its line and field', () => {
  const text = good.replace('ssh: node2', 'ssh: "root@@bad host"');
  assert.equal(errOf(text), 'cluster.yaml line 9: nodes[1].ssh: expected user@host[:port] or an ~/.ssh/config alias');
});

test('other mistakes name the field and line', () => {
  assert.match(errOf('nodes:\n  - name: a\n    ssh: h\n    agent: 10.0.0.1\n'), /^cluster\.yaml line 4: nodes\[0\]\.agent: expected unix:/);
  assert.match(errOf('nodes:\n  - name: a\n    ssh: h\n    identitiy: x\n'), /^cluster\.yaml line 4: nodes\[0\]\.identitiy: unknown field/);
  assert.match(errOf('nodes:\n  - name: a\n'), /^cluster\.yaml line 2: nodes\[0\]: needs 'ssh'/);
  assert.match(errOf('nodes:\n  - name: a\n    ssh: h\n  - name: a\n    ssh: h2\n'), /line 4: nodes\[1\]\.name: 'a' is already the name of nodes\[0\]/);
  assert.match(errOf('nodes:\n  - name: a\n    ssh: h:99999\n'), /line 3: nodes\[0\]\.ssh/);
  assert.match(errOf('nodes: [\n'), /^cluster\.yaml line \d+: not valid YAML/);
  assert.match(errOf('hello\n'), /top level: expected a mapping/);
  assert.match(errOf('nodes: 3\n'), /line 1: nodes: expected a list/);
  assert.match(errOf('nodes:\n  - name: a\n    url: ftp://x\n'), /line 3: nodes\[0\]\.url: expected an http/);
  assert.match(errOf('nodes:\n  - name: a\n    ssh: h\n    labels: rack1\n'), /line 4: nodes\[0\]\.labels: expected a list/);
  assert.match(errOf('nodes:\n  - name: a\n    ssh: h\n    migrate-uri: qemu:///system\n'), /line 4: nodes\[0\]\.migrate-uri: 'qemu:\/\/\/system' is not a remote libvirt URI/);
});

test('a missing file says how to make one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-cf-'));
  try {
    assert.throws(() => loadClusterFile(join(dir, 'nope.yaml')), (e: unknown) => e instanceof ClusterFileError && /no cluster file at/.test(e.message) && /--cluster/.test(e.hint ?? ''));
    writeFileSync(join(dir, 'c.yaml'), 'nodes:\n  - name: z\n    ssh: z@h\n');
    assert.equal(loadClusterFile(join(dir, 'c.yaml')).nodes[0]?.name, 'z');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ssh and agent address forms', () => {
  assert.deepEqual(parseSshSpec('root@h:2222'), { user: 'root', host: 'h', port: 2222 });
  assert.deepEqual(parseSshSpec('alias'), { host: 'alias' });
  assert.deepEqual(parseSshSpec('u@[::1]:22'), { user: 'u', host: '::1', port: 22 });
  assert.equal(parseSshSpec('a b'), null);
  assert.equal(parseSshSpec('h:x'), null);
  assert.equal(parseSshSpec('@h'), null);
  assert.deepEqual(parseAgentAddress('127.0.0.1:8730'), { kind: 'tcp', host: '127.0.0.1', port: 8730 });
  assert.deepEqual(parseAgentAddress('unix:/run/a.sock'), { kind: 'unix', path: '/run/a.sock' });
  assert.equal(parseAgentAddress('unix:rel.sock'), null);
  assert.equal(parseAgentAddress('8730'), null);
});
