/**
 * End-to-end on a real libvirtd (a lab node's test driver) under a live agent: when libvirtd is
 * stopped, the dashboard keeps the node's VM rows marked stale with the time of its last answer
 * ('running? 14:02'), never as plainly running nor as a node with no VMs; when libvirtd is back,
 * the rows are fresh again without a restart of the agent or the dashboard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { requireLab, startLab, writeTestNodeXml } from '../../lab/index.js';
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { need } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = process.env['VEM_CLI'] ?? resolve(ROOT, 'dist/src/cli.js');

test('vem tui over a real libvirtd stopped under its agent: rows stale with the last answer\'s time, fresh again when it is back', { timeout: 150_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  if (!need(t, haveTmux(), 'tmux')) return;
  const lab = await startLab({ nodes: 1, name: 'tuidown' });
  const held: { agent?: RunningAgent } = {};
  t.after(async () => {
    await held.agent?.close();
    await lab.stop();
  });
  const n = lab.nodes[0];
  assert.ok(n);
  const nodeXml = join(lab.dir, 'down-testnode.xml');
  writeTestNodeXml(nodeXml, { domains: 6, running: 4 });
  const token = randomBytes(16).toString('hex');
  const a = await startAgent({
    hypervisor: () => connectLibvirt(n.testUri(nodeXml), { timeoutMs: 5000, keepaliveMs: 1000, keepaliveCount: 3 }),
    listen: '127.0.0.1:0', token, pollMs: 500, minBackoffMs: 200, maxBackoffMs: 1000, callTimeoutMs: 2000, plugins: false,
  });
  held.agent = a;
  const cluster = join(lab.dir, 'cluster.yaml');
  const u = new URL(a.url);
  writeFileSync(cluster, `nodes:\n  - name: labnode\n    url: 'http://vem:${token}@${u.host}/'\n`);
  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 120, height: 30, cwd: ROOT });
  t.after(() => tm.kill());
  const fresh = (x: string): boolean => {
    const rows = tableRows(x).filter((r) => r.node === 'labnode');
    return rows.length === 6 && rows.every((r) => !r.state.includes('?')) && rows.some((r) => r.state === 'running');
  };
  const s0 = await tm.waitFor(fresh, 30_000, 'the node up with its 6 VMs');
  const runningBefore = tableRows(s0).filter((r) => r.state === 'running').map((r) => r.name).sort();

  await n.stopLibvirtd();
  const down = await tm.waitFor((x) => {
    const rows = tableRows(x).filter((r) => r.node === 'labnode');
    return rows.length === 6 && rows.every((r) => /^\w+\? \d\d:\d\d$/.test(r.state));
  }, 30_000, 'the rows kept and marked stale');
  // The last known states, not a guess: the running ones are still the running ones, marked.
  assert.deepEqual(tableRows(down).filter((r) => r.state.startsWith('running?')).map((r) => r.name).sort(), runningBefore);
  assert.doesNotMatch(down, /VMs 0 of/, 'a broken node read as an empty one');

  await n.startLibvirtd();
  await tm.waitFor(fresh, 60_000, 'the rows fresh again once libvirtd is back');
  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
});
