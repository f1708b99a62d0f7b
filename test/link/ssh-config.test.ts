import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSshConfig, readSshConfig, resolveSshChain } from '../../src/link/ssh-config.js';
import { backoffDelay } from '../../src/link/backoff.js';

const env = { home: '/home/ann', localUser: 'ann', exists: (p: string) => p.endsWith('id_ed25519') };

const cfg = parseSshConfig(`
Host n1
  HostName 10.0.0.11
  User root
  Port 2201
  IdentityFile ~/.ssh/n1_key
  ProxyJump bastion
Host bastion
  HostName bastion.example
  User jump
Host deep
  HostName 10.0.0.99
  ProxyJump bastion,inner
Host inner
  HostName 10.1.0.1
  ProxyJump nowhere
Host tok
  HostName %h.lab
  IdentityFile %d/.ssh/%r@%h
Host loop
  ProxyJump loop
Host pc
  ProxyCommand nc %h %p
Host kh
  UserKnownHostsFile ~/.ssh/kh_a %d/.ssh/kh_b
  GlobalKnownHostsFile none
  StrictHostKeyChecking accept-new
`);

test('an alias takes HostName, User, Port, IdentityFile and its jump host', () => {
  const chain = resolveSshChain('n1', cfg, env);
  assert.equal(chain.length, 2);
  assert.deepEqual(
    chain.map((h) => [h.host, h.port, h.user]),
    [['bastion.example', 22, 'jump'], ['10.0.0.11', 2201, 'root']],
  );
  assert.deepEqual(chain[1]?.identityFiles, ['/home/ann/.ssh/n1_key']);
  // the jump host has none configured: ssh's default files that exist
  assert.deepEqual(chain[0]?.identityFiles, ['/home/ann/.ssh/id_ed25519']);
});

test('the command-line form overrides config; the cluster identity goes first', () => {
  const [hop] = resolveSshChain('admin@10.0.0.5:2222', cfg, { ...env, identity: '/k/id' });
  assert.deepEqual([hop?.host, hop?.port, hop?.user, hop?.identityFiles], ['10.0.0.5', 2222, 'admin', ['/k/id']]);
  const chain = resolveSshChain('other@n1', cfg, env);
  assert.equal(chain[1]?.user, 'other');
});

test('multi-hop ProxyJump: later hops come through the previous one, not their own ProxyJump', () => {
  const chain = resolveSshChain('deep', cfg, env);
  assert.deepEqual(chain.map((h) => h.host), ['bastion.example', '10.1.0.1', '10.0.0.99']);
});

test('tokens, loops and ProxyCommand', () => {
  const [hop] = resolveSshChain('tok', cfg, env);
  assert.equal(hop?.host, 'tok.lab');
  assert.deepEqual(hop?.identityFiles, ['/home/ann/.ssh/ann@tok.lab']);
  assert.throws(() => resolveSshChain('loop', cfg, env), /too many ProxyJump hops/);
  assert.throws(() => resolveSshChain('pc', cfg, env), /ProxyCommand/);
});

test('Include lines are read relative to ~/.ssh with globs', () => {
  const home = mkdtempSync(join(tmpdir(), 'vem-sc-'));
  try {
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'config'), 'Include conf.d/*.conf\nHost *\n  User fallback\n');
    writeFileSync(join(home, '.ssh', 'conf.d', 'a.conf'), 'Host inc\n  HostName 10.9.9.9\n  Port 2022\n');
    const c = parseSshConfig(readSshConfig(join(home, '.ssh', 'config'), home));
    const [hop] = resolveSshChain('inc', c, { home, localUser: 'x' });
    assert.deepEqual([hop?.host, hop?.port, hop?.user], ['10.9.9.9', 2022, 'fallback']);
    assert.equal(readSshConfig(join(home, 'missing'), home), '');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('backoff doubles up to a ceiling with bounded jitter', () => {
  const o = { minMs: 500, maxMs: 8000, jitter: () => 0 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, o)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  assert.equal(backoffDelay(2, { ...o, jitter: () => 1 }), 1600);
});

test('known_hosts files and StrictHostKeyChecking come from the config, with ssh\'s defaults', () => {
  const [d] = resolveSshChain('n1', cfg, env).slice(-1);
  assert.deepEqual(d?.userKnownHostsFiles, ['/home/ann/.ssh/known_hosts', '/home/ann/.ssh/known_hosts2']);
  assert.deepEqual(d?.globalKnownHostsFiles, ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
  assert.equal(d?.strictHostKeyChecking, undefined);
  const [k] = resolveSshChain('kh', cfg, env);
  assert.deepEqual(k?.userKnownHostsFiles, ['/home/ann/.ssh/kh_a', '/home/ann/.ssh/kh_b']);
  assert.deepEqual(k?.globalKnownHostsFiles, ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
  assert.equal(k?.strictHostKeyChecking, 'accept-new');
});
