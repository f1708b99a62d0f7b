/**
 * The management screens against real agents (startAgent on the simulated
 * hypervisor) through real direct links on 127.0.0.1: the screens draw what the
 * agents answer, and their actions change what the agents report. Only the
 * dashboard around them is replaced (its dialogs answer yes; the editor is a function).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { createSimCluster, type SimCluster } from '../../../src/libvirt/sim/index.js';
import { openDirectLink } from '../../../src/link/index.js';
import { ClusterStore } from '../../../src/tui/store/store.js';
import { NodePoller } from '../../../src/tui/store/poller.js';
import type { Link } from '../../../src/tui/store/link.js';
import { ManageScreens } from '../../../src/tui/screens/index.js';
import { makeTheme } from '../../../src/tui/views/theme.js';
import type { StorageScreen } from '../../../src/tui/screens/storage.js';
import type { GuestScreen } from '../../../src/tui/screens/guest.js';
import type { XmlEditScreen } from '../../../src/tui/screens/xml-edit.js';
import type { CreateScreen } from '../../../src/tui/screens/create.js';
import type { DeleteScreen } from '../../../src/tui/screens/delete.js';
import type { EditScreen } from '../../../src/tui/screens/edit.js';

let sim: SimCluster;
const agents: RunningAgent[] = [];
const links = new Map<string, Link>();
const store = new ClusterStore();
const pollers: NodePoller[] = [];
const said: Array<{ text: string; err: boolean }> = [];
let confirms: string[][] = [];
let answer: string[] = [];
let editorWrites: (file: string) => void = () => undefined;
let screens: ManageScreens;

async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last status: ${said.at(-1)?.text ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Calls the screens make, by node and method (to see which reads a refresh spares). */
const screenCalls = new Map<string, number>();
function counted(l: Link | undefined): Link | undefined {
  if (!l) return l;
  return new Proxy(l, {
    get(target, prop, recv) {
      if (prop !== 'call') return Reflect.get(target, prop, recv) as unknown;
      return (method: string, ...params: Parameters<typeof l.call>[1][]) => {
        const k = `${l.name} ${method}`;
        screenCalls.set(k, (screenCalls.get(k) ?? 0) + 1);
        return target.call(method, ...params);
      };
    },
  });
}

function screenText(): string {
  return screens.current?.lines(140, 45).join('\n').replace(/\{[a-z/-]+\}/g, '') ?? '';
}

before(async () => {
  // The guest's policy refuses stopping services, so a refusal can be seen.
  sim = createSimCluster({ nodes: 2, vmsPerNode: 3, seed: 5, guestPolicy: { readOnly: false, allow: (a) => a !== 'service.stop' } });
  for (const hv of sim.hypervisors) {
    const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 500 });
    agents.push(a);
    const name = hv.uri.replace('sim://', '');
    const l = openDirectLink(name, a.url);
    links.set(name, l);
    const p = new NodePoller(l, store, { refreshMs: 500 });
    pollers.push(p);
    p.start();
  }
  await until(() => store.vms.size === 6, 'both nodes listed');
  screens = new ManageScreens({
    theme: () => makeTheme(true),
    store,
    link: (n) => counted(links.get(n)),
    invalidate: (n) => void pollers.find((p) => p.link.name === n)?.invalidate(),
    say: (text, err) => void said.push({ text, err: err ?? false }),
    confirm: (lines, yes) => {
      confirms.push(lines);
      yes();
    },
    prompt: (_p, _initial, submit) => submit(answer.shift() ?? ''),
    markDirty: () => undefined,
    runEditor: async (file) => {
      editorWrites(file);
      return true;
    },
    selectedVm: () => [...store.vms.values()].find((v) => v.node === 'node-01' && v.state === 'running'),
    selectedNode: () => 'node-01',
  });
});

after(async () => {
  screens?.close();
  for (const p of pollers) p.stop();
  await Promise.allSettled([...links.values()].map((l) => l.close()));
  await Promise.allSettled(agents.map((a) => a.close()));
  await sim.close();
});

test('storage view: pools with figures, volumes with the VM using each; in-use delete refused, forced after confirm; create', async () => {
  assert.equal(screens.openByName('storage', 'node-01'), true);
  await until(() => /Volumes in default/.test(screenText()), 'the storage view');
  const text = screenText();
  const pools = await links.get('node-01')?.call('storage.pools');
  assert.ok(Array.isArray(pools) && pools.length > 0);
  for (const p of pools as Array<{ name: string }>) assert.match(text, new RegExp(`^[> ] ?${p.name}\\s+running`, 'm'));
  assert.match(text, /POOL\s+STATE\s+TYPE\s+CAPACITY\s+ALLOC\s+AVAILABLE\s+USE%/);
  const vmsHere = store.vmsOf('node-01').map((v) => v.name);
  // Each VM's disk is listed with that VM as its user.
  for (const vm of vmsHere) assert.match(text, new RegExp(`${vm}\\.qcow2\\s+\\S+\\s+\\S+\\s+qcow2\\s+${vm}`), `${vm}'s disk and user`);
  const s = screens.current as StorageScreen;
  s.key('tab');
  const victim = `${vmsHere[0]}.qcow2`;
  // The cursor is on the first volume: x is refused (used), nothing is sent.
  said.length = 0;
  s.key('x');
  assert.match(said.at(-1)?.text ?? '', new RegExp(`volume ${victim} is used by ${vmsHere[0]}: not deleted`));
  const before = (await links.get('node-01')?.call('storage.volumes', 'default')) as Array<{ name: string }>;
  assert.ok(before.some((v) => v.name === victim), 'still there');
  // A new volume, then a plain delete of it (no user), then a forced delete of the used one.
  answer = ['scratch.raw 2G raw'];
  s.key('c');
  await until(() => /scratch\.raw\s+2\.0G/.test(screenText()), 'the new volume');
  answer = [`${victim} 1G qcow2`];
  said.length = 0;
  s.key('c');
  assert.match(said.at(-1)?.text ?? '', /already has a volume/);
  confirms = [];
  s.key('F');
  assert.match(confirms[0]?.join(' ') ?? '', new RegExp(`FORCE delete volume ${victim}.*used by ${vmsHere[0]}`));
  await until(() => !new RegExp(`${victim}\\s`).test(screenText()), 'the forced delete');
  screens.close();
});

test('network view: state, bridge, address, DHCP and VMs on each; stop after confirm, start, autostart', async () => {
  screens.openByName('networks', 'node-01');
  await until(() => /VMs on default/.test(screenText()), 'the network view');
  const text = screenText();
  assert.match(text, /default\s+active\s+yes\s+virbr0\s+192\.168\.122\.1\/24\s+192\.168\.122\.2 - 192\.168\.122\.254/);
  const s = screens.current;
  assert.ok(s);
  confirms = [];
  s.key('d');
  assert.match(confirms[0]?.[0] ?? '', /Stop network default on node-01/);
  await until(() => /default\s+inactive/.test(screenText()), 'default stopped');
  s.key('a');
  await until(() => /default\s+inactive\s+no/.test(screenText()), 'autostart off');
  s.key('u');
  await until(() => /default\s+active\s+no/.test(screenText()), 'default started again');
  screens.close();
});

test('guest browser: processes, users, services, system; a signal removes the process; a policy refusal is shown', async () => {
  screens.openByName('guest');
  const g = screens.current as GuestScreen;
  await until(() => /processes\s+sort cpu/.test(screenText()) && g.processes().length > 3, 'processes');
  assert.match(screenText(), /SIMULATED guest data/);
  g.key('s');
  g.key('s');
  const byPid = g.processes();
  assert.deepEqual(byPid.map((p) => p.pid), byPid.map((p) => p.pid).sort((a, b) => a - b));
  const victim = byPid.filter((p) => p.pid > 1 && p.ppid > 1).at(-1);
  assert.ok(victim, 'a process to signal');
  answer = [`pid:${victim.pid}`];
  g.key('/');
  assert.deepEqual(g.processes().map((p) => p.pid), []);
  answer = [String(victim.pid)];
  g.key('/');
  assert.ok(g.processes().some((p) => p.pid === victim.pid));
  g.key('g');
  confirms = [];
  answer = ['KILL'];
  g.key('x');
  assert.match(confirms[0]?.[0] ?? '', new RegExp(`Send SIGKILL to pid ${victim.pid}`));
  await until(() => !(g.processes().some((p) => p.pid === victim.pid)), 'the process gone');
  g.key('2');
  await until(() => /USER\s+UID\s+ADMIN\s+LOGGED IN/.test(screenText()) && /root\s+0\s+yes/.test(screenText()), 'users');
  g.key('3');
  await until(() => /SERVICE\s+STATE\s+ENABLED/.test(screenText()), 'services');
  g.key('d');
  await until(() => /REFUSED: .*refused by the guest's policy/.test(screenText()), 'the refusal');
  g.key('4');
  await until(() => /filesystems/.test(screenText()) && /OS \S+/.test(screenText()) && /uptime \S+/.test(screenText()), 'system');
  screens.close();
});

test('XML edit: libvirt refuses, its error is shown and the edited text kept; broken XML is not sent; a good edit saves', async () => {
  screens.openByName('xml');
  const x = screens.current as XmlEditScreen;
  let mem = '';
  editorWrites = (file) => {
    const orig = readFileSync(file, 'utf8');
    mem = /<memory unit='KiB'>(\d+)<\/memory>/.exec(orig)?.[1] ?? '';
    writeFileSync(file, orig.replace(/<memory unit='KiB'>\d+<\/memory>/, "<memory unit='KiB'>lots</memory>"));
  };
  await until(() => x.state.kind === 'rejected', 'the refusal');
  const text = screenText();
  assert.match(text, /libvirt refused it: .*memory/);
  assert.match(text, /your text is kept in/);
  assert.match(readFileSync(x.file, 'utf8'), /<memory unit='KiB'>lots<\/memory>/);
  editorWrites = (file) => writeFileSync(file, readFileSync(file, 'utf8').replace('</domain>', ''));
  x.key('e');
  await until(() => x.state.kind === 'rejected' && /broken XML/.test(screenText()), 'the local check');
  assert.match(screenText(), /nothing was sent/);
  editorWrites = (file) => writeFileSync(file, readFileSync(file, 'utf8').replace("<memory unit='KiB'>lots</memory>", `<memory unit='KiB'>${mem}</memory>`).replace('</description>', ' (edited)</description>').trimEnd() + '\n</domain>\n');
  x.key('e');
  await until(() => screens.current === undefined, 'saved and closed');
  assert.match(said.at(-1)?.text ?? '', /XML of .* saved/);
  assert.match(String(await links.get(x.vm.node)?.call('vm.xml', x.vm.name, { inactive: true })), /\(edited\)<\/description>/);
  rmSync(dirname(x.file), { recursive: true, force: true });
});

test('create VM: bad fields are named and nothing is sent; a good form defines the VM with its vCPUs and memory', async () => {
  screens.openByName('create', 'fresh-1');
  const c = screens.current as CreateScreen;
  await until(() => c.facts() !== undefined, 'the node facts');
  const taken = store.vmsOf('node-01')[0]?.name ?? '';
  c.input.name = taken;
  c.input.network = 'nowhere';
  c.input.memoryMiB = String(10 * 1024 * 1024);
  c.submit();
  assert.deepEqual(c.errors.map((e) => e.field), ['name', 'memory', 'network']);
  assert.match(screenText(), new RegExp(`! name: node-01 already has a VM '${taken}'`));
  const names = ((await links.get('node-01')?.call('vm.list')) as Array<{ name: string }>).map((v) => v.name);
  assert.ok(!names.includes('fresh-1'));
  c.input.name = 'fresh-1';
  c.input.network = 'default';
  c.input.memoryMiB = '512';
  c.input.vcpus = '2';
  c.input.start = 'yes';
  c.submit();
  await until(() => screens.current === undefined, 'created');
  const info = (await links.get('node-01')?.call('vm.info', 'fresh-1')) as { vcpus: number; maxMemKiB: number; state: string };
  assert.equal(info.vcpus, 2);
  assert.equal(info.maxMemKiB, 512 * 1024);
  assert.equal(info.state, 'running');
  const vols = (await links.get('node-01')?.call('storage.volumes', 'default')) as Array<{ name: string }>;
  assert.ok(vols.some((v) => v.name === 'fresh-1.qcow2'));
});

test('delete VM: refused while running; with its volumes after a confirmation naming them; or keeping them', async () => {
  const call = async (node: string, m: string, ...p: string[]): Promise<Array<{ name: string }>> => (await links.get(node)?.call(m, ...p)) as Array<{ name: string }>;
  await until(() => store.vms.has('node-01/fresh-1'), 'fresh-1 in the table');
  screens.openByName('delete', 'node-01/fresh-1');
  const d = screens.current as DeleteScreen;
  await until(() => (d.volumes() ?? []).length === 1, 'its volume');
  said.length = 0;
  confirms = [];
  d.key('V');
  assert.equal(confirms.length, 0, 'no confirmation for a running VM');
  assert.match(said.at(-1)?.text ?? '', /fresh-1 is running: stop it/);
  await links.get('node-01')?.call('vm.destroy', 'fresh-1');
  await until(() => store.vms.get('node-01/fresh-1')?.state === 'shutoff', 'fresh-1 off');
  d.key('V');
  assert.match(confirms[0]?.join(' ') ?? '', /Delete VM fresh-1 on node-01 AND its volumes\? Volumes deleted: default\/fresh-1\.qcow2/);
  await until(() => screens.current === undefined, 'deleted');
  await assert.rejects(call('node-01', 'vm.info', 'fresh-1'), /fresh-1/);
  assert.ok(!(await call('node-01', 'storage.volumes', 'default')).some((v) => v.name === 'fresh-1.qcow2'));
  // Another stopped VM, deleted with its volumes kept.
  const other = store.vmsOf('node-02')[0];
  assert.ok(other);
  await links.get('node-02')?.call('vm.destroy', other.name).catch(() => undefined);
  await until(() => store.vms.get(other.key)?.state === 'shutoff', `${other.name} off`);
  screens.openByName('delete', other.key);
  const d2 = screens.current as DeleteScreen;
  await until(() => d2.volumes() !== undefined, 'its volumes');
  confirms = [];
  d2.key('d');
  assert.match(confirms[0]?.join(' ') ?? '', new RegExp(`Its volumes are kept: ${other.name}\\.qcow2`));
  await until(() => screens.current === undefined, 'deleted');
  await assert.rejects(call('node-02', 'vm.info', other.name), new RegExp(other.name));
  assert.ok((await call('node-02', 'storage.volumes', 'default')).some((v) => v.name === `${other.name}.qcow2`));
});

test('edit VM: attach a volume as the next disk and a NIC, move the NIC, detach both (live on a running VM)', async () => {
  const vm = store.vmsOf('node-01').find((v) => v.state === 'running');
  assert.ok(vm);
  await links.get('node-01')?.call('storage.createVolume', 'default', "<volume><name>extra.qcow2</name><capacity unit='G'>1</capacity><target><format type='qcow2'/></target></volume>");
  screens.openByName('edit', vm.key);
  const e = screens.current as EditScreen;
  await until(() => e.rows().length > 0 && screens.manage.storage.get('node-01')?.data !== undefined && screens.manage.networks.get('node-01')?.data !== undefined, 'its devices');
  const info = async (): Promise<{ disks: Array<{ target: string; source?: string }>; interfaces: Array<{ mac: string; source?: string }> }> =>
    ((await links.get('node-01')?.call('vm.info', vm.name)) as { xml: { disks: Array<{ target: string; source?: string }>; interfaces: Array<{ mac: string; source?: string }> } }).xml;
  const before = await info();
  answer = ['default/extra.qcow2'];
  e.key('a');
  await until(() => e.rows().some((r) => r.kind === 'disk' && r.d.path?.endsWith('/extra.qcow2') === true), 'the new disk listed');
  const after = await info();
  assert.equal(after.disks.length, before.disks.length + 1);
  assert.ok(after.disks.some((d) => d.target === 'vdb' && d.source?.endsWith('/extra.qcow2')), 'extra.qcow2 is vdb in the live definition');
  answer = ['backend'];
  e.key('N');
  await until(() => e.rows().some((r) => r.kind === 'nic' && r.n.network === 'backend'), 'the new NIC listed');
  const nicRow = e.rows().findIndex((r) => r.kind === 'nic' && r.n.network === 'backend');
  const mac = (e.rows()[nicRow] as { n: { mac?: string } }).n.mac ?? '';
  for (let i = 0; i < nicRow; i++) e.key('down');
  answer = ['default'];
  e.key('n');
  await until(() => e.rows().some((r) => r.kind === 'nic' && r.n.mac === mac && r.n.network === 'default'), 'the NIC moved');
  e.key('x');
  await until(() => !e.rows().some((r) => r.kind === 'nic' && r.n.mac === mac), 'the NIC gone');
  const diskRow = e.rows().findIndex((r) => r.kind === 'disk' && r.d.target === 'vdb');
  e.key('g');
  for (let i = 0; i < diskRow; i++) e.key('down');
  e.key('x');
  await until(() => !e.rows().some((r) => r.kind === 'disk' && r.d.target === 'vdb'), 'the disk gone');
  assert.equal((await info()).disks.length, before.disks.length);
  answer = ['cdrom,hd'];
  e.key('b');
  await until(() => /boot order of .*: cdrom,hd/.test(said.at(-1)?.text ?? ''), 'the boot order set');
  assert.match(String(await links.get('node-01')?.call('vm.xml', vm.name, { inactive: true })), /<boot dev='cdrom'\/>\s*<boot dev='hd'\/>/);
  screens.close();
});

test("the storage view refreshes while shown: a volume made behind its back appears without R; who uses it comes from the agent's usedBy, with no VM's XML read", { timeout: 60_000 }, async () => {
  screens.openByName('storage', 'node-02');
  const st = (): NonNullable<ReturnType<typeof screens.manage.storage.get>>['data'] => screens.manage.storage.get('node-02')?.data;
  await until(() => st() !== undefined, 'the storage view of node-02');
  const xmlReads = (): number => screenCalls.get('node-02 vm.xml') ?? 0;
  const before = xmlReads();
  await links.get('node-02')?.call('storage.createVolume', 'default', "<volume><name>behind.qcow2</name><capacity unit='G'>1</capacity><target><format type='qcow2'/></target></volume>");
  await until(() => st()?.volumes.get('default')?.some((v) => v.name === 'behind.qcow2') === true, 'behind.qcow2 listed without a reload key', 12_000);
  assert.deepEqual(st()?.users.get('default')?.get('behind.qcow2'), [], 'a new volume is used by nobody');
  const path = st()?.volumes.get('default')?.find((v) => v.name === 'behind.qcow2')?.path ?? '';
  assert.notEqual(path, '', 'the new volume has a path');
  await links.get('node-02')?.call('vm.define', `<domain type='kvm'><name>newcomer</name><memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><source file='${path}'/><target dev='vda'/></disk></devices></domain>`);
  await until(() => store.vms.has('node-02/newcomer'), 'the new VM in the store');
  await until(() => (st()?.users.get('default')?.get('behind.qcow2') ?? []).includes('newcomer'), 'the new VM shown as the volume\'s user', 15_000);
  assert.equal(xmlReads(), before, 'the storage view read no VM\'s XML: usedBy came with the volumes');
  screens.close();
  await links.get('node-02')?.call('vm.undefine', 'newcomer');
  await links.get('node-02')?.call('storage.deleteVolume', 'default', 'behind.qcow2');
});
