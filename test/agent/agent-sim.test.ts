// The agent over the simulated hypervisor: read-only mode, TLS with a token,
// the guest.* wire-in, long-poll wake-up on a change. (Real libvirt: the e2e-* tests.)
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';
import { need } from '../ci.js';


/** An agent on loopback over a one-node simulated cluster of 2 VMs, and a client; both end with the test. */
async function simAgent(t: TestContext, seed: number): Promise<XmlRpcClient> {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed });
  const a = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 200 });
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    sim.close();
  });
  return c;
}

test('read-only agent: reads answer, changes and consoles are refused', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 3, seed: 5 });
  const a = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', readOnly: true, pollMs: 200 });
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    sim.close();
  });
  const list = (await c.call('vm.list')) as Array<{ name: string }>;
  assert.equal(list.length, 3);
  const vm = list[0]?.name as string;
  await assert.rejects(c.call('vm.destroy', vm), (e: unknown) => e instanceof XmlRpcFault && /read-only/.test(e.message));
  const mc = (await c.call('system.multicall', [{ methodName: 'vm.suspend', params: [vm] }, { methodName: 'node.info', params: [] }])) as unknown[];
  assert.equal((mc[0] as { faultCode: number }).faultCode, -32400);
  assert.equal(((mc[1] as unknown[])[0] as { readOnly?: unknown; agent: { readOnly: boolean } }).agent.readOnly, true);
  const u = new URL(a.url);
  const reply = await new Promise<string>((resolve) => {
    const s = net.connect(Number(u.port), u.hostname, () => s.write(`GET /console/${vm} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: vem-console\r\n\r\n`));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got));
  });
  assert.match(reply, /^HTTP\/1.1 403/);
});

test('a change made through the agent wakes a waiting events.poll at once; guest.* and balancer.level1.* are wired in', async (t) => {
  const c = await simAgent(t, 9);
  const names = (await c.call('system.listMethods')) as string[];
  assert.ok(names.some((n) => n.startsWith('guest.')), 'guest relay registered');
  assert.ok(names.includes('balancer.level1.status'), 'level-1 balancer registered');
  const l1 = (await c.call('balancer.level1.status')) as { ticks: number; enabled: boolean };
  assert.equal(l1.enabled, false, 'level 1 is off until enabled');
  const vm = ((await c.call('vm.list')) as Array<{ name: string }>)[0]?.name as string;
  const cursor = ((await c.call('events.poll', 0, 0)) as { cursor: number }).cursor;
  const waiting = c.call('events.poll', cursor, 20_000) as Promise<{ events: Array<{ kind: string; vm: string }> }>;
  await new Promise((r) => setTimeout(r, 100));
  await c.call('vm.suspend', vm);
  const got = await waiting;
  // a poll that ran into its timeout would come back empty
  assert.ok(got.events.some((e) => e.vm === vm), JSON.stringify(got.events));
});

test('TLS with a token on loopback; non-loopback refused without them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-agent-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Only a missing openssl binary skips; any other openssl failure fails the test with its output.
  const haveOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).error === undefined;
  if (!need(t, haveOpenssl, 'openssl')) return;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 1, seed: 2 });
  t.after(() => sim.close());
  const hv = sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>;
  await assert.rejects(startAgent({ hypervisor: hv, listen: '0.0.0.0:0', plugins: false }), /non-loopback/);
  const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', token: 'a-long-enough-token-1234', tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }, plugins: false });
  t.after(() => a.close());
  assert.match(a.url, /^https:/);
  const c = new XmlRpcClient({ url: a.url, token: 'a-long-enough-token-1234', ca: readFileSync(join(dir, 'cert.pem'), 'utf8') });
  assert.equal(((await c.call('node.info')) as { simulated: boolean }).simulated, true);
  c.close();
  const untrusted = new XmlRpcClient({ url: a.url, token: 'a-long-enough-token-1234' });
  await assert.rejects(untrusted.call('node.info'), /certificate/i);
  untrusted.close();
});

test('an agent started while libvirtd is absent comes up, says libvirt is down, and keeps retrying', async (t) => {
  const { connectLibvirt } = await import('../../src/libvirt/client/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'vem-agent-nolv-'));
  let attempts = 0;
  const a = await startAgent({
    hypervisor: () => {
      attempts++;
      return connectLibvirt(`qemu+unix:///system?socket=${join(dir, 'no-such-libvirt-sock')}`, { timeoutMs: 2000 });
    },
    listen: '127.0.0.1:0',
    minBackoffMs: 50,
    maxBackoffMs: 100,
    plugins: false,
  });
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const info = (await c.call('node.info')) as { libvirt: { up: boolean; reason: string } };
  assert.equal(info.libvirt.up, false);
  assert.ok(info.libvirt.reason.length > 0);
  await assert.rejects(c.call('vm.info', 'x'), (e: unknown) => e instanceof XmlRpcFault && e.code === 1001);
  // A down node is not an empty one: vm.list is a fault that says libvirt is down, and since when.
  await assert.rejects(c.call('vm.list'), (e: unknown) => e instanceof XmlRpcFault && e.code === 1001 && /libvirt is down since \d{4}-/.test(e.message));
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(attempts >= 2, `reconnect attempts: ${attempts}`);
});

test('simulated guests answer guest.* only while running and only when made with an agent; otherwise a clear no-agent state', async (t) => {
  const c = await simAgent(t, 4);
  const bare = (name: string, channel: boolean): string =>
    `<domain type='kvm'><name>${name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices>${channel ? "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>" : ''}</devices></domain>`;
  await c.call('vm.define', bare('no-agent', false));
  await c.call('vm.start', 'no-agent');
  await c.call('vm.define', bare('with-agent', true));
  const none = (await c.call('guest.status', 'no-agent')) as { agent: string; detail: string; simulated: boolean };
  assert.deepEqual([none.agent, none.simulated], ['none', true]);
  assert.match(none.detail, /no guest agent in the simulated VM 'no-agent'/);
  await assert.rejects(c.call('guest.processes', 'no-agent'), (e: unknown) => e instanceof XmlRpcFault && /no guest agent/.test(e.message));
  const stopped = (await c.call('guest.status', 'with-agent')) as { agent: string; detail: string };
  assert.equal(stopped.agent, 'none');
  assert.match(stopped.detail, /is shutoff; its guest agent answers while it runs/);
  await c.call('vm.start', 'with-agent');
  assert.equal(((await c.call('guest.status', 'with-agent')) as { agent: string }).agent, 'simulated');
  assert.ok(((await c.call('guest.processes', 'with-agent')) as { processes: unknown[] }).processes.length > 0);
});

test('closing the agent ends an attached console instead of waiting for it', async () => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 9 });
  const a = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 200, plugins: false });
  const c = new XmlRpcClient({ url: a.url });
  const vm = ((await c.call('vm.list', { active: true, inactive: false })) as Array<{ name: string }>)[0]?.name ?? '';
  c.close();
  const u = new URL(a.url);
  const sock = net.connect(Number(u.port), u.hostname);
  let got = '';
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  sock.write(`GET /console/${vm} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: vem-console\r\n\r\n`);
  while (!got.startsWith('HTTP/1.1 101')) await new Promise((r) => setTimeout(r, 20));
  // Before the fix this await never returned: the console socket held the server open.
  await a.close();
  await closed;
  assert.ok(sock.destroyed);
  sim.close();
});
