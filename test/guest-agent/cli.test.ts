/** `vem guest-agent` command line: bad input gives a clear message and the usage exit code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliPath } from './helpers.js';

const vem = (...args: string[]): { code: number | null; err: string } => {
  const r = spawnSync(process.execPath, [cliPath(), 'guest-agent', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, err: r.stderr };
};

test('unknown flags and bad channel names exit 2 with a message', () => {
  const a = vem('--bogus');
  assert.equal(a.code, 2);
  assert.match(a.err, /unknown option '--bogus'/);
  const b = vem('--channel', '../../etc/passwd');
  assert.equal(b.code, 2);
  assert.match(b.err, /bad channel name/);
});

test('--listen refuses a non-loopback address (no TLS, no token in the guest)', () => {
  const r = vem('--listen', '0.0.0.0:0', '--log', '/dev/null');
  assert.equal(r.code, 1);
  assert.match(r.err, /refusing to listen on non-loopback address 0\.0\.0\.0/);
});
