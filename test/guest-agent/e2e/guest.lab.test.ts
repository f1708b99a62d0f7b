/**
 * End to end (issue 7): a TCG guest in the lab runs the bundled guest agent on
 * its virtio-serial port; the node agent (inside the node's namespace) relays
 * guest.* over the channel. Processes started from the guest's console are
 * seen and signalled, users match the guest's /etc/passwd, a user added
 * through the API is seen from the console, the guest's policy refuses what it
 * does not allow, and after a live migration the second node's agent reaches
 * the same guest agent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireLab, openGuestConsole, waitForPrompt, type Lab } from '../../lab/index.js';
import { XmlRpcClient } from '../../../src/common/xmlrpc/client.js';
import { XmlRpcFault } from '../../../src/common/xmlrpc/codec.js';
import { isStruct, type XmlRpcValue } from '../../../src/common/xmlrpc/value.js';
import { bootGuest, guestAgentImage, guestLab, startNodeAgent, type NodeAgent } from './setup.js';

const PROMPT = /vem-guest# /;
type Row = Record<string, XmlRpcValue>;

const rows = (v: XmlRpcValue, key: string): Row[] => {
  assert.ok(isStruct(v), 'a struct');
  const a = v[key];
  assert.ok(Array.isArray(a), `${key} is an array`);
  return a.filter(isStruct);
};

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms (${last instanceof Error ? last.message : String(last ?? '')})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('guest agent end to end: processes, signals, users, policy, migration', { timeout: 420_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  const image = await guestAgentImage();
  const lab: Lab = await guestLab(2);
  const agents: NodeAgent[] = [];
  t.after(async () => {
    for (const a of agents) await a.stop();
    await lab.stop();
  });
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);
  await bootGuest(lab, n1, 'g1', image);
  // g2 has only qemu-guest-agent's channel: the relay falls back to it.
  await bootGuest(lab, n1, 'g2', image, 384, 'org.qemu.guest_agent.0');
  const a1 = await startNodeAgent(n1);
  agents.push(a1);
  const c1 = new XmlRpcClient({ url: a1.url, timeoutMs: 30_000 });

  // The guest agent answers once the guest has booted.
  const ping = await until('guest.ping through n1', 120_000, async () => {
    const r = await c1.call('guest.ping', 'g1');
    return isStruct(r) ? r : undefined;
  });
  assert.equal(ping['agent'], 'vem-guest-agent');
  assert.equal(ping['hostname'], 'vem-guest');
  const status = await c1.call('guest.status', 'g1');
  assert.ok(isStruct(status) && status['agent'] === 'vem-guest-agent');

  const con = await openGuestConsole(n1.qemuUri, 'g1');
  t.after(() => con.close());
  await waitForPrompt(con, PROMPT, 60_000);
  await con.command('stty cols 400');

  // A process started from the console shows in guest.processes, with its user and command line.
  await con.command('sleep 4242 </dev/null >/dev/null 2>&1 & true');
  // Only lines that are pure output count (the console may echo the command line too).
  const pidText = (await con.command('pidof sleep')).split('\n').map((l) => l.trim()).filter((l) => /^\d+( \d+)*$/.test(l)).pop() ?? '';
  const pid = Number(pidText.split(/\s+/)[0]);
  assert.ok(pid > 1, `pid of sleep from the console: ${pidText}`);
  const procs = rows(await c1.call('guest.processes', 'g1'), 'processes');
  const sleeper = procs.find((p) => p['pid'] === pid);
  assert.ok(sleeper, `pid ${pid} listed`);
  assert.equal(sleeper['command'], 'sleep 4242');
  assert.equal(sleeper['user'], 'root');
  assert.ok(sleeper['startTime'] instanceof Date);
  assert.ok(procs.some((p) => String(p['command']).includes('guest-agent.mjs')), 'the agent sees itself');

  // Signalling it through the API ends it, as the console confirms.
  const sig = await c1.call('guest.signal', 'g1', pid, 'SIGTERM');
  assert.ok(isStruct(sig) && sig['sent'] === true);
  await until('sleep ended', 10_000, async () => ((await con.command(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`)).includes('gone') ? true : undefined));
  assert.ok(!rows(await c1.call('guest.processes', 'g1'), 'processes').some((p) => p['pid'] === pid));

  // The user list matches the guest's /etc/passwd as the console shows it.
  const passwd = (await con.command('cat /etc/passwd')).split('\n').map((l) => l.trim()).filter((l) => /^[^:\s]+:[^:]*:\d+:\d+:/.test(l)).map((l) => l.split(':'));
  const users = rows(await c1.call('guest.users', 'g1'), 'users');
  assert.deepEqual(users.map((u) => [u['name'], u['uid']]), passwd.map((f) => [f[0], Number(f[2])]));

  // A user added through the API (password hashed in the guest) is seen from the console.
  const added = await c1.call('guest.userAdd', 'g1', 'alice', { password: 'wonder land', shell: '/bin/sh' });
  assert.ok(isStruct(added) && added['tool'] === 'files', JSON.stringify(added));
  assert.match(await con.command('grep ^alice: /etc/passwd'), /^alice:x:1000:1000::\/home\/alice:\/bin\/sh/m);
  assert.match(await con.command('grep ^alice: /etc/shadow | cut -c1-10'), /^alice:\$6\$/m);
  assert.match(await con.command('id alice'), /uid=1000\(alice\)/);
  assert.doesNotMatch(await con.command('cat /var/log/vem-guest.log'), /wonder land/);

  // The guest's policy refuses what it does not allow (user.remove, services), and logs the refusal.
  await assert.rejects(c1.call('guest.userRemove', 'g1', 'alice'), (e: unknown) => e instanceof XmlRpcFault && e.code === 403 && /refused by the guest's policy/.test(e.message));
  await assert.rejects(c1.call('guest.serviceAction', 'g1', 'syslogd', 'stop'), /refused by the guest's policy/);
  assert.match(await con.command('grep -c refused /var/log/vem-guest.log'), /^2$/m);
  assert.match(await con.command('grep ^alice: /etc/passwd | wc -l'), /^1$/m);

  // A name that is not a VM: a clear fault.
  await assert.rejects(c1.call('guest.processes', 'nosuchvm'), XmlRpcFault);

  // g2 runs only qemu-guest-agent: what it can tell comes from it, marked so; the rest is a clear "no guest agent".
  await until('qemu-guest-agent in g2', 120_000, async () => {
    const s = await c1.call('guest.status', 'g2');
    return isStruct(s) && s['agent'] === 'qemu-guest-agent' ? s : undefined;
  });
  const info2 = await c1.call('guest.info', 'g2');
  assert.ok(isStruct(info2) && info2['source'] === 'qemu-guest-agent', JSON.stringify(info2));
  assert.equal(info2['hostname'], 'vem-guest');
  assert.match(String(info2['kernel']), /^\d+\.\d+/);
  const ifs2 = await c1.call('guest.interfaces', 'g2');
  assert.ok(Array.isArray(ifs2) && ifs2.some((i) => isStruct(i) && i['name'] === 'lo' && i['source'] === 'qemu-guest-agent'));
  const fs2 = await c1.call('guest.filesystems', 'g2');
  assert.ok(Array.isArray(fs2) && fs2.every((f) => isStruct(f) && f['source'] === 'qemu-guest-agent'));
  await assert.rejects(c1.call('guest.processes', 'g2'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404 && /no guest agent in vm 'g2'/.test(e.message));
  await assert.rejects(c1.call('guest.signal', 'g2', 5, 'SIGTERM'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404);
  await n1.virsh(n1.qemuUri, 'destroy', 'g2');

  // Live migration to n2: the guest agent keeps running; n2's node agent reaches it over the new channel.
  await con.close();
  // Calls keep coming while the VM migrates: each ends in a result or a clear fault, never a hang or a crash.
  let migrating = true;
  const during: Array<'ok' | string> = [];
  const caller = (async () => {
    while (migrating) {
      during.push(await c1.call('guest.processes', 'g1').then(() => 'ok' as const, (e: unknown) => (e instanceof XmlRpcFault ? `fault ${e.code}: ${e.message}` : `other: ${String(e)}`)));
    }
  })();
  await n1.virsh(n1.qemuUri, 'migrate', '--live', 'g1', n2.qemuUri);
  migrating = false;
  await caller;
  assert.ok(during.length > 0);
  assert.deepEqual(during.filter((d) => d.startsWith('other')), [], 'only results and faults');
  assert.equal(a1.proc.exitCode, null, "n1's node agent survived");
  assert.ok(Array.isArray(await c1.call('system.listMethods')), "n1's node agent still serves");
  const a2 = await startNodeAgent(n2);
  agents.push(a2);
  const c2 = new XmlRpcClient({ url: a2.url, timeoutMs: 30_000 });
  const ping2 = await until('guest.ping through n2', 60_000, async () => {
    const r = await c2.call('guest.ping', 'g1');
    return isStruct(r) ? r : undefined;
  });
  assert.equal(ping2['pid'], ping['pid'], 'the same guest agent process, migrated with its guest');
  const after = rows(await c2.call('guest.users', 'g1'), 'users');
  assert.ok(after.some((u) => u['name'] === 'alice'), 'state in the guest came along');
  // The old node's agent says clearly that the VM is no longer there.
  await assert.rejects(c1.call('guest.ping', 'g1'), (e: unknown) => e instanceof XmlRpcFault && /g1|domain|not found/i.test(e.message));

  // A guest reboot (hard reset): the node agent reconnects by itself once the new boot's agent is up.
  await n2.virsh(n2.qemuUri, 'reset', 'g1');
  const rebooted = await until('guest agent back after the reset', 120_000, async () => {
    const u = rows(await c2.call('guest.users', 'g1'), 'users');
    return u.some((x) => x['name'] === 'alice') ? undefined : u; // alice lived in the old boot's tmpfs
  });
  assert.deepEqual(rebooted.map((u) => u['name']), ['root']);
  const ping3 = await c2.call('guest.ping', 'g1');
  assert.ok(isStruct(ping3) && ping3['agent'] === 'vem-guest-agent');
});
