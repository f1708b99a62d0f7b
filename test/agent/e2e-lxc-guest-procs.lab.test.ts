// The guest browser's processes of a real LXC container with no agent inside it: the node
// agent reads them from the host's /proc (the container's init found from libvirt's domain
// id, its PID namespace compared link by link), through the agent's XML-RPC, with pids as the
// container sees them and the source named. A running QEMU guest without an agent, and a
// container that is not running, are refused saying why, never answered with an empty list.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { containerDomainXml, requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';
import { api } from '../../src/api/index.js';
import { HOST_PROC_AGENT } from '../../src/api/guest.js';
import { isStruct, type XmlRpcValue } from '../../src/common/xmlrpc/value.js';
import { ContainerProcessReader } from '../../src/agent/guest/container-procs.js';
import { openDirectLink } from '../../src/link/index.js';
import { ClusterStore } from '../../src/tui/store/store.js';
import { NodePoller } from '../../src/tui/store/poller.js';
import { ManageScreens } from '../../src/tui/screens/index.js';
import { makeTheme } from '../../src/tui/views/theme.js';
import type { GuestScreen } from '../../src/tui/screens/guest.js';
import { waitFor } from './e2e-helpers.js';

type Proc = { pid: number; ppid: number; hostPid: number; user: string; state: string; cpuPercent: number; rssKiB: number; name: string; command: string };
type Procs = { source: string; initPid: number; count: number; processes: Proc[] };

// $0 of the second shell carries an escape sequence and a bell: a hostile process title.
const ODD = "$(printf 'odd\\033]0;pwn\\007name')";
// churn: processes that start and exit all the time, so some exit while the agent reads them.
const SCRIPT = `sleep 1234 & sleep 2345 & sh -c 'while :; do :; done' burner & sh -c 'while :; do /bin/true; /bin/sleep 0.01; done' churn & sh -c 'while :; do sleep 3600; done' "${ODD}" & while :; do sleep 3600; done`;

test('LXC: the node agent lists a container\'s processes from the host\'s /proc with in-container pids and names the source; refusals say why', { timeout: 180_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'lxc']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'lxc-procs', lxc: true });
  const n = lab.nodes[0];
  assert.ok(n);
  const virsh = (uri: string, ...a: string[]): Promise<string> => n.virsh(uri, ...a);
  const cleanup: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    // A running container outlives the lab's stop (its controller is in a mount namespace of its own): destroyed first.
    for (const name of ['procs', 'seabios']) {
      await virsh(n.lxcUnixUri, 'destroy', name).catch(() => undefined);
      await virsh(n.qemuUnixUri, 'destroy', name).catch(() => undefined);
    }
    await lab.stop();
  });
  const xml = join(lab.dir, 'procs.xml');
  writeFileSync(xml, containerDomainXml({ name: 'procs', script: SCRIPT }));
  await virsh(n.lxcUnixUri, 'define', xml);
  writeFileSync(join(lab.dir, 'idle.xml'), containerDomainXml({ name: 'idle' }));
  await virsh(n.lxcUnixUri, 'define', join(lab.dir, 'idle.xml'));
  await virsh(n.lxcUnixUri, 'start', 'procs');

  const token = randomBytes(24).toString('hex');
  const agent = await startAgent({ hypervisor: () => connectLibvirt(n.lxcUnixUri, { timeoutMs: 20_000 }), listen: '127.0.0.1:0', token, pollMs: 1000, auditLog: join(lab.dir, 'audit.jsonl') });
  cleanup.push(() => agent.close());
  const c = new XmlRpcClient({ url: agent.url, token, timeoutMs: 30_000 });
  cleanup.push(async () => c.close());

  const status = (await c.call(api.guest.status.name, 'procs')) as { agent: string; source?: string; detail?: string };
  assert.equal(status.agent, HOST_PROC_AGENT, JSON.stringify(status));
  assert.match(status.source ?? '', /^host \/proc \(LXC init pid \d+\)$/);

  // The shells start their children right away; a second call measures CPU since the first.
  let r = (await c.call(api.guest.processes.name, 'procs', { intervalMs: 1000 })) as Procs;
  assert.equal(r.source, `host /proc (LXC init pid ${r.initPid})`);
  assert.equal(status.source, r.source);
  assert.equal(r.count, r.processes.length);
  const byCmd = (s: string): Proc | undefined => r.processes.find((p) => p.command === s);
  const init = r.processes.find((p) => p.hostPid === r.initPid);
  assert.ok(init, JSON.stringify(r.processes));
  assert.equal(init.pid, 1, 'the init is pid 1 inside');
  assert.equal(init.ppid, 0, "the init's parent (the controller) is outside the container");
  assert.match(init.command, /^\/bin\/sh -c sleep 1234 &/);
  for (const want of ['sleep 1234', 'sleep 2345']) {
    const p = byCmd(want);
    assert.ok(p, `${want} listed: ${JSON.stringify(r.processes.map((x) => x.command))}`);
    assert.equal(p.ppid, 1, `${want}: its parent is the init, as the container sees it`);
    assert.notEqual(p.pid, p.hostPid, `${want}: pid inside, not the host's`);
    assert.ok(p.pid > 1 && p.pid < 100, `${want}: a small pid inside a new PID namespace (${p.pid})`);
    assert.equal(p.user, 'root');
    assert.equal(p.state, 'S');
    assert.ok(p.rssKiB > 0, `${want}: RSS`);
    // Checked against the host's own /proc: the pid inside is the last NSpid entry of that host pid.
    assert.equal(readFileSync(`/proc/${p.hostPid}/cmdline`, 'utf8'), `${want.replace(' ', '\0')}\0`);
    assert.match(readFileSync(`/proc/${p.hostPid}/status`, 'utf8'), new RegExp(`^NSpid:\\t${p.hostPid}\\t${p.pid}$`, 'm'));
  }
  // Every process listed is in the container's PID namespace; the test's own process is not listed.
  const ns = readlinkSync(`/proc/${r.initPid}/ns/pid`);
  let gone = 0;
  for (const p of r.processes) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${p.hostPid}/ns/pid`);
    } catch (e) {
      // The churn loop's processes live 10 ms: one listed may have exited before this check (CI saw it).
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && /true|sleep 0\.01/.test(p.command)) {
        gone++;
        continue;
      }
      throw e;
    }
    assert.equal(link, ns, p.command);
  }
  assert.ok(gone < r.processes.length - 5, `most listed processes still there (${gone} of ${r.processes.length} gone)`);
  assert.ok(!r.processes.some((p) => p.hostPid === process.pid));
  t.diagnostic(`one pass over the host's /proc: ${(r as Procs & { sampleMs: number }).sampleMs} ms for ${r.count} container processes among ${readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length} on the host`);
  assert.ok(r.processes.length >= 6, JSON.stringify(r.processes.map((x) => x.command)));

  // A hostile process title: escape and bell made printable, the rest kept.
  const odd = r.processes.find((p) => p.command.startsWith('sh -c while :; do sleep 3600; done '));
  assert.ok(odd, JSON.stringify(r.processes.map((x) => x.command)));
  assert.match(odd.command, /odd\?\]0;pwn\?name$/);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(odd.command, /[\u0000-\u001f\u007f]/);

  // CPU % since the previous call: a second on a loaded machine still gives the burner a share.
  await new Promise((res) => setTimeout(res, 1000));
  r = (await c.call(api.guest.processes.name, 'procs')) as Procs;
  const burner = r.processes.find((p) => p.command.endsWith(' burner'));
  assert.ok(burner && burner.cpuPercent > 3, `the burner's CPU %: ${JSON.stringify(burner)}`);
  assert.equal(burner.state, 'R');

  // Processes exiting mid-read (churn) never make a call fail or list a half-read process.
  for (let i = 0; i < 10; i++) {
    const again = (await c.call(api.guest.processes.name, 'procs')) as Procs;
    assert.ok(again.processes.some((p) => p.command === 'sleep 1234'));
    for (const p of again.processes) assert.ok(p.pid > 0 && p.command !== '' && p.state !== '', JSON.stringify(p));
  }

  // The dashboard's guest browser over a real link to this agent: the processes, and their source on screen.
  const link = openDirectLink('n1', agent.url, token);
  cleanup.push(async () => link.close());
  const store = new ClusterStore();
  const poller = new NodePoller(link, store, { refreshMs: 1000 });
  poller.start();
  cleanup.push(async () => poller.stop());
  const screens = new ManageScreens({
    theme: () => makeTheme(true),
    store,
    link: () => link,
    invalidate: () => poller.invalidate(),
    say: () => undefined,
    confirm: (_l, yes) => yes(),
    prompt: (_p, initial, submit) => submit(initial),
    markDirty: () => undefined,
    runEditor: async () => true,
    selectedVm: () => store.vms.get('n1/procs'),
    selectedNode: () => 'n1',
  });
  cleanup.push(async () => screens.close());
  await waitFor('procs in the dashboard store', async () => store.vms.get('n1/procs')?.state === 'running', 30_000, 250);
  screens.openByName('guest', 'procs');
  const g = screens.current as GuestScreen;
  const text = (): string => g.lines(200, 50).join('\n').replace(/\{[a-z/-]+\}/g, '');
  await waitFor('sleep 2345 in the guest browser', async () => g.processes().some((p) => p.command === 'sleep 2345'), 30_000, 250);
  assert.match(text(), new RegExp(`source: host /proc \\(LXC init pid ${r.initPid}\\)`));
  assert.match(text(), /agent: no agent in this container: its processes are read by the node agent from the host's \/proc/);
  assert.ok(g.processes().some((p) => p.pid === 1 && p.command.startsWith('/bin/sh -c sleep 1234')));
  g.showTab(1);
  await waitFor('the users tab saying why it is empty', async () => /users: not available \(not read: no agent runs in this container/.test(text()), 10_000, 250);

  // Refusals of the reader itself on the real /proc: a domain id that is not this container's
  // controller (the agent in another PID namespace than libvirtd), and a /proc it cannot read.
  const reader = new ContainerProcessReader();
  await assert.rejects(reader.findInit('procs', `<domain type='lxc' id='${process.pid}'>`), /pid \d+ \(its domain id\) is not its libvirt_lxc controller in this agent's \/proc/);
  await assert.rejects(new ContainerProcessReader({ procRoot: join(lab.dir, 'no-proc') }).findInit('procs', `<domain type='lxc' id='${r.initPid}'>`), /is not readable in this agent's \/proc: no such process/);

  // A container that is not running: refused saying so.
  await assert.rejects(c.call(api.guest.processes.name, 'idle'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404 && /container 'idle' is not running/.test(e.message));
  const idle = (await c.call(api.guest.status.name, 'idle')) as { agent: string; detail: string };
  assert.equal(idle.agent, 'none');
  assert.match(idle.detail, /not running/);
  // The other guest.* methods need an agent inside: refused naming why, not an empty answer.
  await assert.rejects(c.call(api.guest.users.name, 'procs'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404 && /an LXC container has no guest channel/.test(e.message));

  // A running QEMU guest (TCG, no disk: SeaBIOS finds nothing to boot) without an agent: refused saying why.
  writeFileSync(join(lab.dir, 'seabios.xml'), `<domain type='qemu'><name>seabios</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>`);
  await virsh(n.qemuUnixUri, 'define', join(lab.dir, 'seabios.xml'));
  await virsh(n.qemuUnixUri, 'start', 'seabios');
  const qagent = await startAgent({ hypervisor: () => connectLibvirt(n.qemuUnixUri, { timeoutMs: 20_000 }), listen: '127.0.0.1:0', token, pollMs: 1000, auditLog: join(lab.dir, 'audit-q.jsonl') });
  cleanup.push(() => qagent.close());
  const q = new XmlRpcClient({ url: qagent.url, token, timeoutMs: 30_000 });
  cleanup.push(async () => q.close());
  await assert.rejects(q.call(api.guest.processes.name, 'seabios'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404 && /no guest agent in vm 'seabios'/.test(e.message));
  const qs = (await q.call(api.guest.status.name, 'seabios')) as XmlRpcValue;
  assert.ok(isStruct(qs) && qs['agent'] === 'none' && /no guest agent/.test(String(qs['detail'])), JSON.stringify(qs));
});
