// vm.start on a VM marked as a template, against a real agent over a SIMULATED node: refused with
// the reason and what to do instead (its disk is the base of the VMs made from it); the same VM
// starts again once it is an ordinary VM, and an ordinary VM is not held up by the check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/index.js';
import { client } from '../../src/api/client.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';

test('vm.start refuses a template, naming why and what to do; an unmarked VM starts', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 5, templates: true });
  const a = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 200 });
  const x = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    x.close();
    await a.close();
    await sim.close();
  });
  const c = client(x);
  const [gold, other] = (await c.vm.list()).map((v) => v.name);
  assert.ok(gold !== undefined && other !== undefined);
  for (const vm of [gold, other]) await c.vm.destroy(vm).catch(() => undefined);
  await c.template.mark(gold, { os: 'debian-12' });

  const err = await c.vm.start(gold).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof XmlRpcFault, `vm.start of a template must be refused, got ${String(err)}`);
  assert.match(err.message, new RegExp(`${gold} is a template and is not started: its disk is the base of the VMs made from it`));
  assert.match(err.message, new RegExp(`vem vm create NEW --node NODE --from ${gold}`));
  assert.match(err.message, /vm\.clone/);
  assert.equal((await c.vm.info(gold)).state, 'shutoff', 'nothing was started');

  // An ordinary VM starts as before, and so does the template once it is unmarked.
  assert.equal(await c.vm.start(other), true);
  await c.template.unmark(gold);
  assert.equal(await c.vm.start(gold), true);
  assert.equal((await c.vm.info(gold)).state, 'running');
});
