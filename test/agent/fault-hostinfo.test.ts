// node.info no longer asks libvirt for the host's static facts on every call: libvirt's
// hostInfo includes virConnectGetHostname, which resolves the host name (getaddrinfo) each
// time and waits out the resolver's 5 s timeout when DNS is slow (the good client's ~5 s
// stalls in fault-guest). A real agent over XML-RPC on the SIMULATED hypervisor, with its
// hostInfo calls counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/index.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import type { Hypervisor } from '../../src/libvirt/hypervisor.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';

test('node.info answers from the host facts read at connect: 100 calls, at most one hostInfo of libvirt beyond the connect', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 3 });
  const hv0 = sim.hypervisors[0];
  assert.ok(hv0);
  let hostInfos = 0;
  const hv = new Proxy(hv0, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (prop === 'hostInfo' && typeof v === 'function') {
        return (...a: unknown[]) => {
          hostInfos++;
          return (v as (...x: unknown[]) => unknown).apply(target, a);
        };
      }
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  }) as Hypervisor;
  const agent = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 60_000 });
  const c = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    c.close();
    await agent.close();
    sim.close();
  });
  const atConnect = hostInfos;
  const want = await hv0.hostInfo();
  for (let i = 0; i < 100; i++) {
    const info = (await c.call('node.info')) as { hostname: string; node: { cpus: number }; libvirt: { up: boolean } };
    assert.equal(info.hostname, want.hostname);
    assert.equal(info.node.cpus, want.node.cpus);
    assert.equal(info.libvirt.up, true);
  }
  assert.ok(hostInfos - atConnect <= 1, `node.info asked libvirt for hostInfo ${hostInfos - atConnect} times in 100 calls`);
});
