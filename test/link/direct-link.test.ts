// Direct links (no SSH): a real agent (startAgent on the simulated hypervisor) on 127.0.0.1 with a
// token; `vem call --agent URL` as a child process. No lab needed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { createSimCluster, type SimCluster } from '../../src/libvirt/sim/index.js';
import { LinkDownError, openDirectLink, openLink, type LinkState, type NodeLink } from '../../src/link/index.js';
import { execFileSync } from 'node:child_process';

const TOKEN = 'tok-' + Math.random().toString(36).slice(2);
let sim: SimCluster;
let agent: RunningAgent | undefined;
let dir: string;
const CLI = join(process.cwd(), 'dist', 'src', 'cli.js');

function waitState(link: NodeLink, want: LinkState, ms: number): Promise<void> {
  if (link.state === want) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`stayed ${link.state} (${link.detail ?? ''}), wanted ${want}`)), ms);
    link.on('state', (s) => {
      if (s === want) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

function vem(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vem-direct-'));
  sim = createSimCluster({ nodes: 1, vmsPerNode: 3, seed: 11 });
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  agent = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', token: TOKEN });
});

after(async () => {
  await agent?.close();
  sim.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a direct link with the right token is up and calls go through; a wrong token is auth-failed', async () => {
  assert.ok(agent);
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  const want = (await hv.listDomains()).map((d) => d.name).sort();
  const link = openDirectLink('d1', agent.url, TOKEN);
  await waitState(link, 'up', 5000);
  const list = await link.call('vm.list');
  assert.ok(Array.isArray(list));
  assert.deepEqual(list.map((v) => (v as { name: string }).name).sort(), want);
  await link.close();

  const bad = openDirectLink('d2', agent.url, 'wrong');
  await waitState(bad, 'auth-failed', 5000);
  assert.match(bad.detail ?? '', /refused the token \(HTTP 401\)/);
  await bad.close();
});

test('a console over a direct link (HTTP upgrade with the token)', async () => {
  assert.ok(agent);
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  const vm = (await hv.listDomains({ active: true, inactive: false }))[0]?.name;
  assert.ok(vm);
  const link = openDirectLink('c1', agent.url, TOKEN);
  const con = await link.openConsole(vm);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no echo: ${JSON.stringify(seen)}`)), 5000);
    con.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('uname') && seen.includes(`root@${vm}:~# `)) {
        clearTimeout(t);
        resolve();
      }
    });
    con.write('uname\r');
  });
  con.destroy();
  const bad = openDirectLink('c2', agent.url, 'wrong');
  await assert.rejects(bad.openConsole(vm), /401/);
  await Promise.all([link.close(), bad.close()]);
});

test('a direct link goes down with the agent and comes back up by itself', async () => {
  assert.ok(agent);
  const url = agent.url;
  const port = new URL(url).port;
  const link = openDirectLink('d3', url, TOKEN, { backoff: { minMs: 100, maxMs: 500 } });
  await waitState(link, 'up', 5000);
  await agent.close();
  await assert.rejects(link.call('vm.list'));
  assert.equal(link.state, 'down');
  await assert.rejects(link.call('vm.list'), (e: unknown) => e instanceof LinkDownError && e.state === 'down');
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  agent = await startAgent({ hypervisor: hv, listen: `127.0.0.1:${port}`, token: TOKEN });
  await waitState(link, 'up', 5000);
  assert.ok(Array.isArray(await link.call('vm.list')));
  await link.close();
});

test('vem call --agent URL --token-file F METHOD ARGS prints JSON; faults and 401 exit 1', async () => {
  assert.ok(agent);
  const tf = join(dir, 'token');
  writeFileSync(tf, `${TOKEN}\n`, { mode: 0o600 });
  const r = await vem(['call', '--agent', agent.url, '--token-file', tf, 'system.methodHelp', 'vm.list']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(JSON.parse(r.stdout) as string, /Every VM on this node/);
  const f = await vem(['call', '--agent', agent.url, '--token-file', tf, 'vm.info', 'no-such-vm']);
  assert.equal(f.code, 1);
  assert.match(f.stderr, /vm\.info: fault -?\d+/);
  const u = await vem(['call', '--agent', agent.url, 'vm.list']);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /401|token/);
  const n = await vem(['call', '--agent', agent.url]);
  assert.equal(n.code, 2);
  assert.match(n.stderr, /which METHOD/);
  const nc = await vem(['call', 'n1', 'vm.list']);
  assert.equal(nc.code, 1);
  assert.match(nc.stderr, /no cluster file at .*\.config\/vem\/cluster\.yaml/);
});

test('HTTPS with a token and the agent\'s own CA from the cluster entry; without the CA the link stays down', async () => {
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  const key = join(dir, 'agent.key');
  const cert = join(dir, 'agent.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=vem-test-agent', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tls = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', token: TOKEN, tls: { cert, key } });
  try {
    assert.match(tls.url, /^https:/);
    const tf = join(dir, 'tls-token');
    writeFileSync(tf, TOKEN);
    const good = openLink({ name: 's1', url: tls.url, tokenFile: tf, caFile: cert, agent: { kind: 'unix', path: '/unused' }, labels: [] });
    await waitState(good, 'up', 5000);
    assert.ok(Array.isArray(await good.call('vm.list')));
    await good.close();
    const noCa = openLink({ name: 's2', url: tls.url, tokenFile: tf, agent: { kind: 'unix', path: '/unused' }, labels: [] }, { backoff: { minMs: 5000, maxMs: 5000 } });
    await waitState(noCa, 'down', 5000);
    assert.match(noCa.detail ?? '', /self.signed|certificate/i);
    await noCa.close();
    const noToken = openLink({ name: 's3', url: tls.url, tokenFile: join(dir, 'missing-token'), agent: { kind: 'unix', path: '/unused' }, labels: [] });
    await waitState(noToken, 'down', 5000);
    assert.match(noToken.detail ?? '', /cannot read token-file .*missing-token: ENOENT/);
    await assert.rejects(noToken.call('vm.list'), LinkDownError);
    await noToken.close();
  } finally {
    await tls.close();
  }
});
