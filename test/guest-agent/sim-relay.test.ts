/** The relay on a simulated hypervisor (vem demo): answers from the VM's SimGuest, marked simulated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { MethodRegistry } from '../../src/common/xmlrpc/registry.js';
import { isStruct } from '../../src/common/xmlrpc/value.js';
import { registerGuestMethods } from '../../src/agent/guest/index.js';

test('guest.* on a simulated VM: data marked simulated, actions through the SimGuest, read-only agent refuses changes', async () => {
  const cluster = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 7 });
  try {
    const hv = cluster.hypervisors[0];
    assert.ok(hv);
    const reg = new MethodRegistry();
    registerGuestMethods(reg, hv);
    const vm = (await hv.listDomains({ active: true }))[0]?.name;
    assert.ok(vm, 'a running simulated VM');
    const ctx = { caller: 'test', readOnly: false };
    const procs = await reg.dispatch('guest.processes', [vm], ctx);
    assert.ok(isStruct(procs) && procs['simulated'] === true && Array.isArray(procs['processes']) && procs['processes'].length > 0);
    const st = await reg.dispatch('guest.status', [vm], ctx);
    assert.ok(isStruct(st) && st['agent'] === 'simulated');
    const added = await reg.dispatch('guest.userAdd', [vm, 'demo1'], ctx);
    assert.ok(isStruct(added) && added['simulated'] === true);
    const users = await reg.dispatch('guest.users', [vm], ctx);
    assert.ok(isStruct(users) && (users['users'] as unknown[]).some((u) => isStruct(u as never) && (u as Record<string, unknown>)['name'] === 'demo1'));
    await assert.rejects(reg.dispatch('guest.userRemove', [vm, 'demo1'], { caller: 'test', readOnly: true }), /read-only/);
  } finally {
    cluster.close();
  }
});
