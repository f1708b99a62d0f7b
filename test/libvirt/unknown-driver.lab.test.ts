// Bad input against a real libvirtd: a URI naming a driver the daemon does not have is refused
// at connect with a clear message (libvirt's, naming the URI), and the daemon keeps serving.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';

test('unknown driver URI: refused at connect naming it; the same daemon still answers its own driver', { timeout: 60_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'lxc-baduri' });
  t.after(() => lab.stop());
  const n = lab.nodes[0];
  assert.ok(n);
  await assert.rejects(connectLibvirt(`bogus+unix:///system?socket=${n.socketPath}`, { timeoutMs: 10_000, keepaliveMs: 0 }),
    (e: unknown) => {
      assert.ok(e instanceof Error);
      t.diagnostic(e.message);
      assert.match(e.message, /bogus:\/\/\/system/, e.message);
      assert.match(e.message, /no connection driver available|not supported/i, e.message);
      return true;
    });
  const hv = await connectLibvirt(n.qemuUnixUri, { timeoutMs: 10_000, keepaliveMs: 0 });
  t.after(() => hv.close());
  assert.equal((await hv.hostInfo()).driver, 'QEMU');
});
