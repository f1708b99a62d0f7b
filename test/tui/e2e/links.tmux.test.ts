/**
 * End-to-end: `vem tui` on two real agents (over simulated hypervisors) through
 * direct links. When one agent goes away its node shows "down" and the rest of
 * the dashboard keeps working; when it is back on the same address the node
 * comes back up by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { createSimCluster } from '../../../src/libvirt/sim/index.js';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('a node whose agent stops shows down, the others keep going, and it comes back by itself', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 90_000 }, async (t) => {
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 3, seed: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'vem-tui-links-'));
  const agents: RunningAgent[] = [];
  t.after(async () => {
    await Promise.allSettled(agents.map((a) => a.close()));
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const hv of sim.hypervisors) agents.push(await startAgent({ hypervisor: hv, listen: '127.0.0.1:0' }));
  const names = sim.hypervisors.map((hv) => hv.uri.replace('sim://', ''));
  const cluster = join(dir, 'cluster.yaml');
  writeFileSync(cluster, 'nodes:\n' + agents.map((a, i) => `  - name: ${names[i]}\n    url: ${a.url}\n`).join(''));

  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 120, height: 30, cwd: ROOT });
  t.after(() => tm.kill());
  const [n1, n2] = names;
  await tm.waitFor((x) => new RegExp(`${n1}\\s+up`).test(x) && new RegExp(`${n2}\\s+up`).test(x) && /VMs 6 of 6/.test(x), 20_000, 'both nodes up');

  const second = agents[1];
  assert.ok(second);
  const port = new URL(second.url).port;
  await second.close();
  agents.pop();
  const down = await tm.waitFor((x) => new RegExp(`${n2}\\s+down`).test(x) && new RegExp(`node ${n2} down: .*(ECONNREFUSED|refused)`, 'i').test(x), 15_000, `${n2} down, with the reason in the status line`);
  assert.match(down, new RegExp(`${n1}\\s+up`), 'the other node stays up');
  assert.ok(tableRows(down).some((r) => r.node === n1));
  // The down node's VMs are not shown as if live: their last state, marked stale, with the time last heard.
  const stale = await tm.waitFor((x) => tableRows(x).some((r) => r.node === n2), 5000, `${n2}'s VMs still listed`);
  const rows2 = tableRows(stale).filter((r) => r.node === n2);
  assert.ok(rows2.length > 0 && rows2.every((r) => /^\w+\? \d\d:\d\d$/.test(r.state)), JSON.stringify(rows2.map((r) => r.state)));
  assert.ok(tableRows(stale).filter((r) => r.node === n1).every((r) => !r.state.includes('?')), 'the live node is not marked');

  agents.push(await startAgent({ hypervisor: sim.hypervisors[1] ?? sim.hypervisors[0]!, listen: `127.0.0.1:${port}` }));
  await tm.waitFor(new RegExp(`${n2}\\s+up`), 45_000, `${n2} up again`);
  await tm.waitFor((x) => tableRows(x).some((r) => r.node === n2) && tableRows(x).every((r) => !r.state.includes('?')), 10_000, `${n2}'s VMs fresh again`);
  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
});
