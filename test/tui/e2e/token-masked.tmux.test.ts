/**
 * End-to-end: tokens of every awkward shape (with / + = and @, as `head -c 32 /dev/urandom | base64`
 * makes them, and worse) in the cluster file's URLs are used but never shown. One node has the
 * right token and comes up; one the wrong one and says the agent refused it; neither screen, the
 * node's details nor the event log shows either token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { createSimCluster } from '../../../src/libvirt/sim/index.js';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

const GOOD = 'Q2@xy/fnu+=Z9k+/w==';
const WRONG = 'Wr0ng@aa/+=t0ken/b==';

test('tokens with / + = @ in the cluster file are used and never shown on screen', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 90_000 }, async (t) => {
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 2, seed: 9 });
  const dir = mkdtempSync(join(tmpdir(), 'vem-tui-token-'));
  const agents: RunningAgent[] = [];
  t.after(async () => {
    await Promise.allSettled(agents.map((a) => a.close()));
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const hv of sim.hypervisors) agents.push(await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', token: GOOD }));
  const names = sim.hypervisors.map((hv) => hv.uri.replace('sim://', ''));
  const [n1, n2] = names as [string, string];
  const cluster = join(dir, 'cluster.yaml');
  const url = (a: RunningAgent, tok: string): string => { const u = new URL(a.url); return `http://vem:${tok}@${u.host}/`; };
  writeFileSync(cluster, `nodes:\n  - name: ${n1}\n    url: '${url(agents[0] as RunningAgent, GOOD)}'\n  - name: ${n2}\n    url: '${url(agents[1] as RunningAgent, WRONG)}'\n`);

  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 160, height: 40, cwd: ROOT });
  t.after(() => tm.kill());
  const pieces = (tok: string): string[] => tok.split(/[/+=@]/).filter((p) => p.length >= 3);
  const noToken = (screen: string, where: string): void => {
    for (const tok of [GOOD, WRONG]) {
      assert.ok(!screen.includes(tok), `${where}: a token on screen:\n${screen}`);
      for (const p of pieces(tok)) assert.ok(!screen.includes(p), `${where}: part '${p}' of a token on screen:\n${screen}`);
    }
  };
  const s = await tm.waitFor((x) => new RegExp(`${n1}\\s+up`).test(x) && /VMs 2 of 2/.test(x) && new RegExp(`${n2}\\s+auth`).test(x), 20_000, `${n1} up with the right token, ${n2} refused`);
  noToken(s, 'overview');
  // The refusal, the node's details and the event log: where a URL with its userinfo could show.
  tm.keys('Tab');
  await new Promise((r) => setTimeout(r, 300));
  tm.keys('j');
  await new Promise((r) => setTimeout(r, 300));
  tm.keys('Enter');
  noToken(await tm.waitStable((x) => x.includes(n2), 5000), 'node details');
  tm.keys('Escape');
  tm.keys('L');
  noToken(await tm.waitStable(/event/i, 5000), 'event log');
  tm.keys('Escape');
  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
  noToken(tm.stderr(), 'stderr');
});
