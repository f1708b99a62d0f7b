// `vem agent` as a process: serves a simulated node, refuses bad flags (exit 2) and
// unsafe listen addresses, writes its audit log, and exits 0 on SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pythonCalls } from '../common/xmlrpc-peer.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');

test('vem agent: bad flags exit 2, non-loopback without TLS exits 1', () => {
  const bad = spawnSync(process.execPath, [CLI, 'agent', '--frobnicate'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option '--frobnicate'/);
  const half = spawnSync(process.execPath, [CLI, 'agent', '--tls-cert', 'x.pem', '--sim'], { encoding: 'utf8' });
  assert.equal(half.status, 2);
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  const open = spawnSync(process.execPath, [CLI, 'agent', '--sim', '--listen', '0.0.0.0:0', '--audit-log', join(tmpdir(), 'vem-unused-audit.jsonl')], { encoding: 'utf8' });
  assert.equal(open.status, 1);
  assert.match(open.stderr, /refusing to listen on non-loopback address 0\.0\.0\.0 without TLS and a token/);
});

test('vem agent --sim on a unix socket with a token file: python calls it, changes are audited, SIGTERM ends it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-agent-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  const token = 'cli-test-token-0123456789abcdef';
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const sock = join(dir, 'run', 'agent.sock');
  const audit = join(dir, 'audit.jsonl');
  const p = spawn(process.execPath, [CLI, 'agent', '--sim', '--sim-vms', '3', '--socket', sock, '--token-file', tokenFile, '--audit-log', audit, '--poll-ms', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (p.exitCode === null) p.kill('SIGKILL');
  });
  for (let i = 0; i < 100 && !err.includes('serving'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(err, /serving unix:.*SIMULATED/);
  const r = await pythonCalls(`unix:${sock}`, token, [
    ['node.info', []],
    ['vm.list', []],
  ]);
  assert.equal((r[0]?.ok as { simulated: boolean }).simulated, true);
  const vm = (r[1]?.ok as Array<{ name: string }>)[0]?.name as string;
  const r2 = await pythonCalls(`unix:${sock}`, token, [['vm.suspend', [vm]]]);
  assert.equal(r2[0]?.ok, true);
  const denied = await pythonCalls(`unix:${sock}`, 'wrong-token', [['node.info', []]]);
  assert.equal(denied[0]?.http, 401);
  p.kill('SIGTERM');
  assert.equal(await exited, 0);
  const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { method: string; args: unknown[]; caller: string })
    .filter((l) => !('intent' in l)); // write-ahead intent lines precede each outcome
  assert.deepEqual(lines.map((l) => l.method), ['vm.suspend']);
  assert.deepEqual(lines[0]?.args, [vm]);
  assert.equal(lines[0]?.caller, `unix:${sock}`);
});

test('vem agent: a URI that can never work exits at start with one line; a socket not there yet is retried', async (t) => {
  const audit = join(tmpdir(), 'vem-unused-audit.jsonl');
  for (const [uri, why] of [['bogus', /not a libvirt URI/], ['qemu+ssh://127.0.0.1/system', /transport "ssh" is not supported/]] as const) {
    const r = spawnSync(process.execPath, [CLI, 'agent', '--uri', uri, '--listen', '127.0.0.1:0', '--audit-log', audit], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, `${uri}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /serving|retrying/);
  }
  // Transient: libvirtd's socket is not there yet (it may be starting): the agent serves and retries.
  const dir = mkdtempSync(join(tmpdir(), 'vem-agent-transient-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = spawn(process.execPath, [CLI, 'agent', '--uri', `qemu:///system?socket=${join(dir, 'not-yet.sock')}`, '--listen', '127.0.0.1:0', '--audit-log', audit], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (p.exitCode === null) p.kill('SIGKILL');
  });
  for (let i = 0; i < 100 && !err.includes('serving'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(err, /serving http:\/\/127\.0\.0\.1:\d+\/ .*libvirt down \(.*\), retrying/);
  p.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('vem agent: a port already in use is one line naming the address, not a stack trace', async (t) => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  t.after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const r = spawnSync(process.execPath, [CLI, 'agent', '--sim', '--listen', `127.0.0.1:${port}`, '--audit-log', join(tmpdir(), 'vem-unused-audit.jsonl')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^vem agent: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(.*--listen\\)$`, 'm'));
  assert.doesNotMatch(r.stderr, /EADDRINUSE|setupListenHandle|\n\s+at /);
});
