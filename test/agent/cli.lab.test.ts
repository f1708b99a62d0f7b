// `vem agent` and `vem call` as processes against a real libvirtd (the lab's test driver):
// a URI libvirtd refuses ends the agent at start with one line; while libvirtd is down,
// vm.list is a fault that says so and since when (never [], which reads as "no VMs").
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireLab, startLab, writeTestNodeXml } from '../lab/index.js';
import { runVem, startVemAgent, type VemRun } from '../vem-cli.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');

const vem = (...args: string[]): Promise<VemRun> => runVem(args);

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('vem agent on a real libvirtd: a refused URI exits at start; vm.list while libvirtd is down is a fault with the time', async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'agent-cli' });
  const dir = mkdtempSync(join(tmpdir(), 'vem-agent-cli-lab-'));
  const kids: ChildProcess[] = [];
  t.after(async () => {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const n = lab.nodes[0];
  assert.ok(n);
  const audit = join(dir, 'audit.jsonl');

  // libvirtd answers and refuses the driver: configuration, not an outage. One line, exit 1, no "serving".
  const bogus = spawnSync(process.execPath, [CLI, 'agent', '--uri', `bogus:///system?socket=${n.socketPath}`, '--listen', '127.0.0.1:0', '--audit-log', audit], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(bogus.status, 1, bogus.stderr);
  assert.equal(bogus.stderr.trim().split('\n').length, 1, bogus.stderr);
  assert.match(bogus.stderr, /^vem agent: libvirt refused --uri bogus:\/\/\/system\?socket=\S+: .*bogus/);
  assert.doesNotMatch(bogus.stderr, /serving|\n\s+at /);

  // The test driver through libvirtd; then libvirtd goes away under the agent.
  const nodeXml = join(dir, 'node.xml');
  writeTestNodeXml(nodeXml, { domains: 6, running: 3 });
  const agent = await startVemAgent(['--uri', n.testUri(nodeXml), '--listen', '127.0.0.1:0', '--audit-log', audit, '--poll-ms', '200']);
  const p = agent.proc;
  kids.push(p);
  const url = agent.url;
  assert.match(agent.stderr(), /libvirt up/);
  const up = await vem('call', '--agent', url, 'vm.list');
  assert.equal(up.code, 0, up.stderr);
  assert.equal((JSON.parse(up.stdout) as unknown[]).length, 6);

  await n.stopLibvirtd();
  const down = await waitFor('vm.list to fault', async () => {
    const r = await vem('call', '--agent', url, 'vm.list');
    return r.code !== 0 ? r : undefined;
  });
  assert.equal(down.stdout, '');
  assert.match(down.stderr, /^vem call: vm\.list: fault 1001: libvirt is down since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);

  await n.startLibvirtd();
  const back = await waitFor('vm.list to answer again', async () => {
    const r = await vem('call', '--agent', url, 'vm.list');
    return r.code === 0 ? r : undefined;
  }, 40_000);
  assert.equal((JSON.parse(back.stdout) as unknown[]).length, 6);
  p.kill('SIGTERM');
});
