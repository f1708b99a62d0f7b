/** Simulated hypervisor: guest data and actions, console, QEMU guest-agent answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { createSimCluster, ManualClock, SimGuestError, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';

async function firstRunning(hv: SimHypervisor, withAgent = true): Promise<string> {
  for (const d of await hv.listDomains({ active: true })) {
    const info = await hv.domainInfo(d.name);
    const xml = await hv.domainXml(d.name);
    if (info.state === 'running' && xml.includes('org.qemu.guest_agent.0') === withAgent) return d.name;
  }
  throw new Error('no such VM');
}

test('a simulated guest lists processes, accounts, services, OS, filesystems and interfaces, all marked simulated', async () => {
  const clock = new ManualClock();
  const c = createSimCluster({ nodes: 1, vmsPerNode: 12, seed: 8, clock });
  const hv = c.hypervisors[0]!;
  const vm = await firstRunning(hv);
  const g = hv.guest(vm);
  assert.equal(g.simulated, true);
  const info = g.info();
  assert.equal(info.simulated, true);
  assert.equal(info.hostname, vm);
  assert.ok(info.uptimeSec > 0 && info.memory.totalKiB > 0 && info.os.prettyName.length > 0);
  const p1 = g.processes();
  assert.equal(p1.simulated, true);
  assert.ok(p1.count >= 15);
  const init = p1.processes.find((p) => p.pid === 1)!;
  assert.equal(init.ppid, 0);
  assert.equal(init.user, 'root');
  const pids = new Set(p1.processes.map((p) => p.pid));
  for (const p of p1.processes) {
    assert.ok(p.pid === 1 || pids.has(p.ppid), `parent of ${p.pid} exists`);
    assert.ok(p.cpuPercent >= 0 && p.rssKiB >= 0 && p.command.length > 0 && p.startTime instanceof Date);
  }
  clock.advance(15_000);
  const p2 = g.processes();
  assert.notDeepEqual(p2.processes.map((p) => p.cpuPercent), p1.processes.map((p) => p.cpuPercent), 'CPU % moves over time');
  const u = g.users();
  const root = u.users.find((x) => x.name === 'root')!;
  assert.equal(root.admin, true);
  assert.ok(u.users.some((x) => x.name === 'admin' && x.admin && x.loggedIn));
  assert.ok(u.users.some((x) => x.system && !x.admin));
  assert.ok(u.groups.some((x) => (x.name === 'sudo' || x.name === 'wheel') && x.members.includes('admin')));
  const s = g.services();
  assert.ok(s.services.some((x) => x.state === 'running' && x.enabled === 'enabled'));
  assert.ok(s.services.some((x) => x.state === 'stopped'));
  assert.ok(g.sessions().every((x) => x.simulated));
  assert.ok(g.filesystems().some((f) => f.mountPoint === '/' && f.usedBytes < f.totalBytes));
  const ifs = g.interfaces();
  assert.ok(ifs.some((i) => i.name === 'lo'));
  assert.ok(ifs.some((i) => i.addresses.some((a) => /^192\.168\.122\./.test(a.address))));
  assert.match(g.ping().agent, /vem-guest-agent/);
  await c.close();
});

test('guest actions: signals remove processes, users and services change; a read-only policy refuses with 403', async () => {
  const clock = new ManualClock();
  const c = createSimCluster({ nodes: 1, vmsPerNode: 12, seed: 8, clock });
  const hv = c.hypervisors[0]!;
  const vm = await firstRunning(hv);
  const g = hv.guest(vm);
  const victim = g.processes().processes.find((p) => p.name === 'cron' || p.name === 'crond' || p.name === 'rsyslogd')!;
  assert.ok(victim);
  g.signal(victim.pid, 'SIGTERM');
  assert.ok(!g.processes().processes.some((p) => p.pid === victim.pid));
  assert.throws(() => g.signal(victim.pid, 'SIGKILL'), (e: unknown) => e instanceof SimGuestError && e.reason === 'not-found');
  assert.throws(() => g.signal(1, 'SIGKILL'), (e: unknown) => e instanceof SimGuestError && e.reason === 'invalid');
  assert.throws(() => g.signal(victim.pid, 'SIGBOGUS'), /unknown signal/);
  g.userAdd('carol', { groups: ['developers'], password: 's3cret' });
  const carol = g.users().users.find((x) => x.name === 'carol')!;
  assert.equal(carol.password, 'set');
  assert.ok(carol.uid >= 1000 && carol.groups.includes('developers'));
  assert.throws(() => g.userAdd('carol'), /already exists/);
  assert.throws(() => g.userAdd('Bad Name'), /invalid user name/);
  g.userLock('carol');
  assert.equal(g.users().users.find((x) => x.name === 'carol')!.password, 'locked');
  g.userUnlock('carol');
  g.userSetPassword('carol', 'another');
  g.userRemove('carol');
  assert.ok(!g.users().users.some((x) => x.name === 'carol'));
  assert.throws(() => g.userRemove('root'), (e: unknown) => e instanceof SimGuestError && e.code === 403);
  const svc = g.services().services.find((x) => x.name === 'qemu-guest-agent')!;
  g.serviceAction(svc.name, 'stop');
  assert.equal(g.services().services.find((x) => x.name === svc.name)!.state, 'stopped');
  assert.ok(!g.processes().processes.some((p) => p.name === 'qemu-ga'));
  g.serviceAction(svc.name, 'start');
  assert.ok(g.processes().processes.some((p) => p.name === 'qemu-ga'));
  g.serviceAction(svc.name, 'disable');
  assert.equal(g.services().services.find((x) => x.name === svc.name)!.enabled, 'disabled');
  assert.throws(() => g.serviceAction('nope', 'start'), /not found/);
  assert.ok(g.actionLog().length >= 8);
  // A stopped VM has no guest agent.
  await hv.destroy(vm);
  assert.throws(() => g.processes(), (e: unknown) => e instanceof SimGuestError && e.code === 404);
  await c.close();

  const ro = createSimCluster({ nodes: 1, vmsPerNode: 12, seed: 8, clock: new ManualClock(), guestPolicy: { readOnly: true } });
  const rg = ro.hypervisors[0]!.guest(vm);
  const before = rg.processes().count;
  assert.throws(() => rg.signal(rg.processes().processes.at(-1)!.pid, 'SIGKILL'), (e: unknown) => e instanceof SimGuestError && e.code === 403 && /policy/.test(e.message));
  assert.equal(rg.processes().count, before);
  assert.deepEqual(rg.policy().allow, []);
  await ro.close();
});

function reader(s: Duplex): { text: () => string; waitFor: (re: RegExp) => Promise<string> } {
  let buf = '';
  const waiters: Array<() => void> = [];
  s.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (re: RegExp): Promise<string> => {
    const until = Date.now() + 2000;
    while (!re.test(buf)) {
      if (Date.now() > until) throw new Error(`no ${re} in ${JSON.stringify(buf)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return buf;
  };
  return { text: () => buf, waitFor };
}

test('the console is a tiny shell: banner, prompt, echo, a few commands; processes started there show in the guest', async () => {
  const c = createSimCluster({ nodes: 1, vmsPerNode: 12, seed: 8, clock: new ManualClock() });
  const hv = c.hypervisors[0]!;
  const vm = await firstRunning(hv);
  const s = await hv.openConsole(vm);
  const r = reader(s);
  await r.waitFor(/simulated console/);
  await r.waitFor(new RegExp(`root@${vm}:~# $`));
  s.write('hostname\r');
  await r.waitFor(new RegExp(`hostname\\r\\n${vm}\\r\\n`));
  s.write('uname -a\r');
  await r.waitFor(new RegExp(`Linux ${vm} \\S+ #1 SMP`));
  s.write('echo hello-from-test\r');
  await r.waitFor(/\r\nhello-from-test\r\n/);
  s.write('ech\x7fho x\r');
  await r.waitFor(/\r\nx\r\n/);
  s.write('frobnicate\r');
  await r.waitFor(/frobnicate: (command )?not found/);
  s.write('sleep 600 &\r');
  const out = await r.waitFor(/\[1\] (\d+)/);
  const pid = Number(/\[1\] (\d+)/.exec(out)![1]);
  assert.ok(hv.guest(vm).processes().processes.some((p) => p.pid === pid && p.command === 'sleep 600'));
  s.write(`kill ${pid}\r`);
  await new Promise((res) => setTimeout(res, 20));
  assert.ok(!hv.guest(vm).processes().processes.some((p) => p.pid === pid));
  s.end();
  // A stopped VM has no console.
  await hv.destroy(vm);
  await assert.rejects(hv.openConsole(vm), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_INVALID);
  await c.close();
});

test('QEMU guest-agent commands answer in the agent JSON form; VMs without an agent say so', async () => {
  const c = createSimCluster({ nodes: 2, vmsPerNode: 12, seed: 8, clock: new ManualClock() });
  const hv = c.hypervisors[0]!;
  const vm = await firstRunning(hv);
  const info = JSON.parse(await hv.guestAgentCommand(vm, '{"execute":"guest-info"}')) as { return: { version: string; supported_commands: Array<{ name: string }> } };
  assert.ok(info.return.supported_commands.some((x) => x.name === 'guest-get-osinfo'));
  const os = JSON.parse(await hv.guestAgentCommand(vm, '{"execute":"guest-get-osinfo"}')) as { return: Record<string, string> };
  assert.ok(os.return['pretty-name'] && os.return['kernel-release'] && os.return['id']);
  const users = JSON.parse(await hv.guestAgentCommand(vm, '{"execute":"guest-get-users"}')) as { return: Array<{ user: string; 'login-time': number }> };
  assert.ok(users.return.some((u) => u.user === 'admin' && u['login-time'] > 1e9));
  const ifs = JSON.parse(await hv.guestAgentCommand(vm, '{"execute":"guest-network-get-interfaces"}')) as { return: Array<{ name: string; 'ip-addresses': unknown[] }> };
  assert.ok(ifs.return.length >= 2);
  assert.equal(JSON.parse(await hv.guestAgentCommand(vm, '{"execute":"guest-get-host-name"}')).return['host-name'], vm);
  await assert.rejects(hv.guestAgentCommand(vm, '{"execute":"guest-exec"}'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.INTERNAL_ERROR && /has not been found/.test(e.message));
  await assert.rejects(hv.guestAgentCommand(vm, 'not json'), (e: unknown) => e instanceof LibvirtError);
  let noAgent: string | undefined;
  for (const h of c.hypervisors) noAgent ??= await firstRunning(h, false).catch(() => undefined);
  assert.ok(noAgent, 'the seeded cluster has a running VM made without a guest agent');
  const h = c.hypervisors.find((x) => x.host.byName.has(noAgent))!;
  await assert.rejects(h.guestAgentCommand(noAgent, '{"execute":"guest-ping"}'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.AGENT_UNRESPONSIVE);
  await c.close();
});

test("a simulated guest's processes never use more CPU than their VM, nor a process more than its threads (the demo showed 253 % in a VM at 2.5 cores)", async () => {
  const clock = new ManualClock();
  const c = createSimCluster({ nodes: 4, vmsPerNode: 10, seed: 7, clock, hotspots: true });
  let checked = 0;
  for (let step = 0; step < 12; step++) {
    clock.advance(5_000);
    for (const hv of c.hypervisors) {
      for (const ref of await hv.listDomains({ active: true })) {
        const d = hv.dom(ref.name);
        if (d.state !== 'running') continue;
        let ps;
        try {
          ps = hv.guest(ref.name).processes().processes;
        } catch {
          continue; // no guest agent in this VM
        }
        const vcpus = d.current.vcpus;
        const busy = Math.min(d.allocCores, vcpus) * 100;
        let sum = 0;
        for (const p of ps) {
          sum += p.cpuPercent;
          assert.ok(p.cpuPercent <= p.threads * 100 + 1e-9, `${ref.name} pid ${p.pid} (${p.name}, ${p.threads} threads): ${p.cpuPercent} %`);
          assert.ok(p.threads <= vcpus, `${ref.name} pid ${p.pid}: ${p.threads} threads on ${vcpus} vCPUs`);
          if (p.state === 'T') assert.equal(p.cpuPercent, 0, 'a stopped process uses no CPU');
        }
        assert.ok(sum <= busy + 1e-6, `${ref.name}: processes use ${sum.toFixed(2)} %, the VM ${busy.toFixed(2)} % (${vcpus} vCPUs)`);
        checked++;
      }
    }
  }
  assert.ok(checked > 100, `checked ${checked} guests`);
  await c.close();
});
