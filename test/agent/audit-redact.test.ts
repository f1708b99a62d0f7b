import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { startAgent } from '../../src/agent/index.js';

test('the audit log records guest password changes without the password', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-audit-'));
  const auditLog = join(dir, 'audit.jsonl');
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 6, seed: 4 });
  const a = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 200, auditLog });
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // A running VM whose simulated guest agent answers (some are made without one).
  let vm = '';
  for (const v of (await c.call('vm.list')) as Array<{ name: string }>) {
    if (((await c.call('guest.status', v.name)) as { agent: string }).agent === 'simulated') {
      vm = v.name;
      break;
    }
  }
  assert.ok(vm, 'a VM with a guest agent');
  const secret = 'S3cret-for-audit-test';
  await c.call('guest.userAdd', vm, 'alice', { password: secret });
  await c.call('guest.userSetPassword', vm, 'alice', secret);
  await a.close(); // flushes the log
  const lines = readFileSync(auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { method: string; args: unknown[] })
    .filter((l) => !('intent' in l)); // write-ahead intent lines precede each outcome
  const guestLines = lines.filter((l) => l.method.startsWith('guest.user'));
  assert.deepEqual(guestLines.map((l) => l.method), ['guest.userAdd', 'guest.userSetPassword']);
  assert.ok(!readFileSync(auditLog, 'utf8').includes(secret), 'the password must not reach the audit log');
  assert.equal(guestLines[1]?.args[2], '[redacted]');
  assert.equal(guestLines[1]?.args[1], 'alice', 'the rest of the call is still recorded');
});
