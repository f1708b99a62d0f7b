// Stock XML-RPC clients see the same surface as before src/api existed: Python's
// xmlrpc.client lists the agent's methods and reads each one's help and signatures,
// compared with a snapshot taken from the agent before the declarations replaced
// its hand-written registrations (test/api/surface.golden.json).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { declared } from '../../src/api/index.js';
import { startAgent } from '../../src/agent/index.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';

interface Surface {
  [method: string]: { help: string; signature: string[][]; mutates: boolean };
}

const PY = `
import json, sys, xmlrpc.client
p = xmlrpc.client.ServerProxy(sys.argv[1])
out = {}
for n in p.system.listMethods():
    out[n] = {"help": p.system.methodHelp(n), "signature": p.system.methodSignature(n)}
print(json.dumps(out))
`;

test("python's xmlrpc.client sees the agent's methods, help and signatures as before", async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 3 });
  const agent = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 200 });
  t.after(async () => {
    await agent.close();
    sim.close();
  });
  const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../../../test/api/surface.golden.json'), 'utf8')) as Surface;
  const { stdout } = await promisify(execFile)('python3', ['-c', PY, agent.url], { timeout: 60_000 });
  const seen = JSON.parse(stdout) as Surface;
  // Methods added since the snapshot are declared in src/api (vm.watch); none of the old ones is gone.
  assert.deepEqual(Object.keys(golden).filter((n) => !(n in seen)), [], 'methods stock clients used that are gone');
  for (const n of Object.keys(seen)) assert.ok(n in golden || declared.has(n), `${n} is declared`);
  for (const [name, g] of Object.entries(golden)) {
    const s = seen[name];
    // Help may grow (a field added to an answer says so at its end), never change what it said.
    assert.ok(s?.help.startsWith(g.help), `${name}: help`);
    // Signatures may be added (an optional argument at the end), never lost: every call that worked still does.
    const sigs = new Set((s?.signature ?? []).map((sig) => sig.join(',')));
    assert.deepEqual(g.signature.map((sig) => sig.join(',')).filter((sig) => !sigs.has(sig)), [], `${name}: signatures lost`);
    assert.equal(agent.registry.mutates(name), g.mutates, `${name}: changes state`);
  }
});
