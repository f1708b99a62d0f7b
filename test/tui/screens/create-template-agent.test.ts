/**
 * The create form's "from template" against real agents (startAgent on SIMULATED nodes with the
 * demo's templates) through real direct links on 127.0.0.1: what only the node can find out is
 * refused under the form's field with nothing made; a provisioning job that fails at a step is
 * drawn on the form with its steps and the failed one, and leaves nothing behind; a good one is
 * followed to its end and the VM is running. Only the dashboard around the screens is replaced.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { client } from '../../../src/api/client.js';
import { createSimCluster, type SimCluster } from '../../../src/libvirt/sim/index.js';
import { openDirectLink } from '../../../src/link/index.js';
import { ClusterStore } from '../../../src/tui/store/store.js';
import { NodePoller } from '../../../src/tui/store/poller.js';
import type { Link } from '../../../src/tui/store/link.js';
import { ManageScreens } from '../../../src/tui/screens/index.js';
import { makeTheme } from '../../../src/tui/views/theme.js';
import type { CreateScreen } from '../../../src/tui/screens/create.js';
import { freeForVmsKiB } from '../../../src/tui/commands/plan.js';

let sim: SimCluster;
const agents: RunningAgent[] = [];
const links = new Map<string, Link>();
const store = new ClusterStore();
const pollers: NodePoller[] = [];
const said: Array<{ text: string; err: boolean }> = [];
/** Every frame the form drew while a job ran (markDirty is the dashboard's redraw). */
const frames: string[] = [];
let screens: ManageScreens;
const DEB = 'templates/debian-12-genericcloud-amd64.qcow2';

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last status: ${said.at(-1)?.text ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const text = (): string => screens.current?.lines(140, 60).join('\n').replace(/\{[a-z/-]+\}/g, '') ?? '';
const node1 = (): ReturnType<typeof client> => client(links.get('node-01') as Link);

before(async () => {
  sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 5, templates: true });
  for (const hv of sim.hypervisors) {
    const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 300 });
    agents.push(a);
    const name = hv.uri.replace('sim://', '');
    const l = openDirectLink(name, a.url);
    links.set(name, l);
    const p = new NodePoller(l, store, { refreshMs: 300 });
    pollers.push(p);
    p.start();
  }
  await until(() => store.vms.size === 2 && store.nodes.get('node-01')?.host !== undefined, 'the node listed');
  screens = new ManageScreens({
    theme: () => makeTheme(true),
    store,
    link: (n) => links.get(n),
    invalidate: (n) => void pollers.find((p) => p.link.name === n)?.invalidate(),
    say: (t, err) => void said.push({ text: t, err: err ?? false }),
    confirm: (_lines, yes) => yes(),
    prompt: (_p, _initial, submit) => submit(''),
    markDirty: () => {
      const s = screens?.current;
      if (s?.id === 'create' && (s as CreateScreen).job) frames.push(text());
    },
    runEditor: async () => true,
    selectedVm: () => undefined,
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

async function openForm(name: string): Promise<CreateScreen> {
  screens.openByName('create', name);
  const c = screens.current as CreateScreen;
  Object.assign(c.input, { diskMode: 'template', template: DEB, diskSize: '20G', sshKey: 'none', start: 'yes' });
  await until(() => c.facts() !== undefined, 'the node\'s pools, networks and templates');
  return c;
}

const vmNames = async (): Promise<string[]> => (await node1().vm.list()).map((v) => v.name);
const volumes = async (): Promise<string[]> => (await node1().storage.volumes('default')).map((v) => v.name);

test('what only the node knows (a volume made since the form read the pool) is refused under the field, nothing made', async () => {
  const c = await openForm('late-1');
  // The form's view of the pool is from before this volume.
  await node1().storage.createVolume('default', "<volume><name>late-1.qcow2</name><capacity unit='G'>1</capacity><target><format type='qcow2'/></target></volume>");
  c.submit();
  await until(() => c.errors.length > 0, 'the refusal');
  assert.deepEqual(c.errors.map((e) => e.field), ['name']);
  assert.match(c.errors[0]?.message ?? '', /^name: pool default already has a volume 'late-1\.qcow2' .*\(refused by the node, nothing was made\)$/);
  const row = text().split('\n').findIndex((l) => /^[> ] name +late-1 /.test(l));
  assert.match(text().split('\n')[row + 1] ?? '', /! name: pool default already has a volume 'late-1\.qcow2'/, 'the error is under the name field');
  assert.ok(!(await vmNames()).includes('late-1'));
  assert.ok(!(await volumes()).includes('late-1-seed.iso'));
  screens.close();
});

test('a job that fails at a step: the steps drawn on the form, the failed one marked, nothing left behind', async () => {
  const c = await openForm('big-1');
  const n = store.nodes.get('node-01');
  assert.ok(n);
  // Within what the dashboard counts as free, beyond what the node will start (it keeps a reserve).
  c.input.memoryMiB = String(Math.floor(freeForVmsKiB(n) / 1024) - 512);
  frames.length = 0;
  c.submit();
  await until(() => c.job !== undefined && c.job.status !== 'running' && said.some((x) => /big-1 not made/.test(x.text)), 'the failed job');
  const s = text();
  assert.match(s, /Provisioning big-1 from templates\/debian-12-genericcloud-amd64\.qcow2: failed, disk, seed, define done/);
  assert.match(s, /\[x\] disk +\/var\/lib\/libvirt\/images\/big-1\.qcow2/);
  assert.match(s, /\[x\] seed +label cidata, written by SIMULATED/);
  assert.match(s, /\[!\] start /);
  assert.match(s.replace(/\s*\n\s+/g, ''), /! step start failed: .*Cannot allocate memory.*; removed what was made \(definition, default\/big-1-seed\.iso, default\/big-1\.qcow2\)/);
  assert.deepEqual(c.errors, [], 'the reason is drawn once, with the job');
  assert.ok(frames.some((f) => /Provisioning big-1 .*: failed/.test(f)), 'drawn as the job was followed');
  assert.equal(screens.current, c, 'the form stays open with the failure');
  assert.ok(said.some((x) => x.err && /VM big-1 not made: failed: step start failed/.test(x.text)));
  assert.ok(!(await vmNames()).includes('big-1'));
  const vols = await volumes();
  assert.ok(!vols.includes('big-1.qcow2') && !vols.includes('big-1-seed.iso'), vols.join(' '));
  screens.close();
});

test('a good form: the job followed to its end, the form closed, the VM running from an overlay of the template', async () => {
  const c = await openForm('good-1');
  c.input.packages = 'htop';
  said.length = 0;
  c.submit();
  await until(() => screens.current === undefined, 'the form closed');
  assert.match(said.at(-1)?.text ?? '', /^made VM good-1 on node-01 from templates\/debian-12-genericcloud-amd64\.qcow2: 20\.0 GiB overlay in default, seed by SIMULATED, started$/);
  assert.equal((await node1().vm.info('good-1')).state, 'running');
  const vol = (await node1().storage.volumes('default')).find((v) => v.name === 'good-1.qcow2');
  assert.equal(vol?.capacity, 20 * 1024 ** 3);
});
