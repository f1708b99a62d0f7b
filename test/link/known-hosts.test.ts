import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendKnownHost, checkHostKey, fingerprintSha256, hostPattern, keyTypeOfBlob, knownHostsLine, parseKnownHosts, preferredHostKeyAlgorithms } from '../../src/link/known-hosts.js';

function blob(type: string, body: Buffer): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  const blen = Buffer.alloc(4);
  blen.writeUInt32BE(body.length);
  return Buffer.concat([len, t, blen, body]);
}
const keyA = blob('ssh-ed25519', randomBytes(32));
const keyB = blob('ssh-ed25519', randomBytes(32));
const keyE = blob('ecdsa-sha2-nistp256', randomBytes(40));

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

test('plain entries: port 22 name, [host]:port name, patterns and negation', () => {
  const entries = parseKnownHosts([
    `10.0.0.1 ssh-ed25519 ${keyA.toString('base64')}`,
    `[10.0.0.1]:2222 ssh-ed25519 ${keyB.toString('base64')}`,
    `*.lab,!bad.lab ssh-ed25519 ${keyA.toString('base64')} comment here`,
  ].join('\n'));
  assert.deepEqual(checkHostKey(entries, '10.0.0.1', 22, keyA), { kind: 'known' });
  assert.deepEqual(checkHostKey(entries, '10.0.0.1', 2222, keyB), { kind: 'known' });
  assert.equal(checkHostKey(entries, '10.0.0.1', 2222, keyA).kind, 'changed');
  assert.deepEqual(checkHostKey(entries, 'n1.lab', 22, keyA), { kind: 'known' });
  assert.equal(checkHostKey(entries, 'bad.lab', 22, keyA).kind, 'unknown');
  assert.equal(checkHostKey(entries, '10.0.0.9', 22, keyA).kind, 'unknown');
});

test('hashed entries match only their own name', () => {
  const entries = parseKnownHosts(`${hashed('[127.0.0.2]:2200')} ssh-ed25519 ${keyA.toString('base64')}\n`);
  assert.deepEqual(checkHostKey(entries, '127.0.0.2', 2200, keyA), { kind: 'known' });
  assert.deepEqual(checkHostKey(entries, '127.0.0.2', 2200, keyB), { kind: 'changed', file: '', line: 1, knownType: 'ssh-ed25519' });
  assert.equal(checkHostKey(entries, '127.0.0.2', 22, keyA).kind, 'unknown');
});

test('another key type known: unknown (not changed), and that type is offered first', () => {
  const entries = parseKnownHosts(`h ecdsa-sha2-nistp256 ${keyE.toString('base64')}\n[h]:23 ssh-rsa AAAA\n`);
  assert.deepEqual(checkHostKey(entries, 'h', 22, keyA), { kind: 'unknown', otherTypes: ['ecdsa-sha2-nistp256'] });
  assert.deepEqual(preferredHostKeyAlgorithms(entries, 'h', 22), ['ecdsa-sha2-nistp256']);
  assert.deepEqual(preferredHostKeyAlgorithms(entries, 'h', 23), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
});

test('markers: @revoked refuses, @cert-authority never vouches for a plain key, unknown markers skipped', () => {
  const entries = parseKnownHosts([
    `@revoked * ssh-ed25519 ${keyB.toString('base64')}`,
    `@cert-authority h ssh-ed25519 ${keyA.toString('base64')}`,
    `@future h ssh-ed25519 ${keyA.toString('base64')}`,
    '# comment',
    'garbage',
  ].join('\n'));
  assert.equal(entries.length, 2);
  assert.deepEqual(checkHostKey(entries, 'h', 22, keyB), { kind: 'revoked', file: '', line: 1 });
  assert.equal(checkHostKey(entries, 'h', 22, keyA).kind, 'unknown');
});

test('fingerprint, key type, line format, append', () => {
  assert.equal(keyTypeOfBlob(keyA), 'ssh-ed25519');
  assert.match(fingerprintSha256(keyA), /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.equal(hostPattern('h', 22), 'h');
  assert.equal(hostPattern('h', 2), '[h]:2');
  const dir = mkdtempSync(join(tmpdir(), 'vem-kh-'));
  try {
    const f = join(dir, 'ssh', 'known_hosts');
    appendKnownHost(f, knownHostsLine('h', 2200, keyA));
    writeFileSync(f, readFileSync(f, 'utf8') + 'x ssh-ed25519 AAAA'); // no final newline
    appendKnownHost(f, knownHostsLine('g', 22, keyB));
    const entries = parseKnownHosts(readFileSync(f, 'utf8'));
    assert.equal(entries.length, 3);
    assert.deepEqual(checkHostKey(entries, 'h', 2200, keyA), { kind: 'known' });
    assert.deepEqual(checkHostKey(entries, 'g', 22, keyB), { kind: 'known' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
