// A container that vanishes mid-poll on a real LXC lab node: destroyed and undefined with virsh,
// outside vem, between the agent's list call and its per-domain GetInfo calls (the test holds
// the poll at that point, so the timing is not left to luck). The real daemon's answer for the
// vanished one is NO_DOMAIN; the agent leaves it out of that poll, counts no collection error,
// vm.list keeps the other containers updating, and vm.info on it is a clear fault.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { containerDomainXml, requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import type { ListDomainsOptions } from '../../src/libvirt/hypervisor.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';
import { waitFor } from './e2e-helpers.js';

type Row = { name: string; state: string; seenAt: number };
type Info = { agent: { errors: number; lastError?: string; collections: number }; capabilities?: { statsRoute?: string } };

test('LXC: a container destroyed and undefined outside vem mid-poll is dropped quietly; the others keep updating', { timeout: 120_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'lxc']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'lxc-vanish', lxc: true });
  t.after(() => lab.stop());
  const n = lab.nodes[0];
  assert.ok(n);
  const virsh = (...a: string[]): Promise<string> => n.virsh(n.lxcUnixUri, ...a);
  const names = ['v1', 'v2', 'v3', 'v4'];
  for (const name of names) {
    const xml = join(lab.dir, `${name}.xml`);
    writeFileSync(xml, containerDomainXml({ name }));
    await virsh('define', xml);
    await virsh('start', name);
  }

  // The agent's own libvirt connection, real; its list call can be held so that a container
  // vanishes after the list answered and before the GetInfo calls go out.
  const token = randomBytes(24).toString('hex');
  let hold: (() => Promise<void>) | undefined;
  let heldPolls = 0;
  const agent = await startAgent({
    hypervisor: async () => {
      const hv = await connectLibvirt(n.lxcUnixUri, { timeoutMs: 20_000 });
      const list = hv.listDomains.bind(hv);
      hv.listDomains = async (o?: ListDomainsOptions) => {
        const refs = await list(o);
        const h = hold;
        if (h && refs.some((r) => r.name === 'v3')) {
          hold = undefined;
          await h();
          heldPolls++;
        }
        return refs;
      };
      return hv;
    },
    listen: '127.0.0.1:0',
    token,
    pollMs: 300,
    auditLog: join(lab.dir, 'audit.jsonl'),
    plugins: false,
  });
  t.after(() => agent.close());
  const c = new XmlRpcClient({ url: agent.url, token, timeoutMs: 30_000 });
  t.after(() => c.close());

  await waitFor('all four containers in vm.list', async () => {
    const rows = (await c.call('vm.list')) as Row[];
    return names.every((x) => rows.some((r) => r.name === x && r.state === 'running')) ? rows : undefined;
  }, 30_000, 300);
  const before = (await c.call('node.info')) as Info;
  assert.equal(before.capabilities?.statsRoute, 'per-domain', 'the LXC driver has no bulk stats: GetInfo per container');

  // Clients keep asking throughout; none of their calls may fail.
  let stop = false;
  const clientErrors: string[] = [];
  let clientCalls = 0;
  const asking = (async () => {
    while (!stop) {
      await c.call('vm.list').then(() => void clientCalls++, (e: unknown) => void clientErrors.push(String(e)));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  // v3 vanishes inside one poll: after the list named it, before its GetInfo.
  hold = async () => {
    await virsh('destroy', 'v3');
    await virsh('undefine', 'v3');
  };
  await waitFor('the held poll to pass', async () => (heldPolls > 0 ? true : undefined), 30_000, 100);
  const t0 = Date.now();
  const after = await waitFor('vm.list without v3, the others updated since', async () => {
    const rows = (await c.call('vm.list')) as Row[];
    const others = rows.filter((r) => r.name !== 'v3');
    return !rows.some((r) => r.name === 'v3') && others.length === 3 && others.every((r) => r.seenAt > t0) ? rows : undefined;
  }, 30_000, 200);
  assert.deepEqual(after.map((r) => r.name).sort(), ['v1', 'v2', 'v4']);
  assert.ok(after.every((r) => r.state === 'running'), JSON.stringify(after));
  stop = true;
  await asking;
  assert.deepEqual(clientErrors, [], 'no vm.list call failed while the container vanished');
  assert.ok(clientCalls > 0);

  // No error storm: the vanished container cost no collection error, and polls went on.
  const info = (await c.call('node.info')) as Info;
  assert.equal(info.agent.errors, before.agent.errors, `collection errors: ${info.agent.lastError ?? ''}`);
  assert.equal(info.agent.lastError, before.agent.lastError);
  assert.ok(info.agent.collections > before.agent.collections);

  // The real daemon's answer the per-domain route relies on: NO_DOMAIN for the vanished name.
  const hv = await connectLibvirt(n.lxcUnixUri, { timeoutMs: 20_000 });
  t.after(() => hv.close());
  await assert.rejects(hv.domainInfo('v3'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.NO_DOMAIN);

  // Asked for by name: a clear fault saying there is no such VM.
  await assert.rejects(c.call('vm.info', 'v3'), (e: unknown) => {
    assert.ok(e instanceof XmlRpcFault, String(e));
    assert.equal(e.code, ErrorCode.NO_DOMAIN);
    assert.match(e.message, /no (such )?(VM|domain).*'v3'/i);
    t.diagnostic(`vm.info v3: fault ${e.code}: ${e.message}`);
    return true;
  });
  const left = await virsh('list', '--all', '--name');
  assert.doesNotMatch(left, /\bv3\b/);
  assert.match(left, /\bv1\b/);
});
