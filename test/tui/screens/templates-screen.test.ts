/**
 * The dashboard's templates pieces against a real agent on a SIMULATED node (the demo's
 * templates), through a real direct link on 127.0.0.1, with the node's poller handing its
 * events to the screens as the dashboard does: `:templates` read on open, on `r` and on the
 * node's events (never on a timer); `c` opens the create form with the template chosen; F
 * refuses a running VM and marks / unmarks a stopped one after the confirmation; a
 * provisioning job is kept in the store after the form closes, listed with its steps by the
 * tasks view's list, and cancelled with job.cancel; one started by another client (as `vem vm
 * create` does) is followed from the node's events. Only the dashboard around the screens is
 * replaced.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { client } from '../../../src/api/client.js';
import { api } from '../../../src/api/index.js';
import type { Hypervisor } from '../../../src/libvirt/hypervisor.js';
import { createSimCluster, type SimCluster } from '../../../src/libvirt/sim/index.js';
import { openDirectLink } from '../../../src/link/index.js';
import { ClusterStore } from '../../../src/tui/store/store.js';
import { NodePoller } from '../../../src/tui/store/poller.js';
import type { Link, XmlRpcValue } from '../../../src/tui/store/link.js';
import { ManageScreens } from '../../../src/tui/screens/index.js';
import { makeTheme } from '../../../src/tui/views/theme.js';
import type { CreateScreen } from '../../../src/tui/screens/create.js';
import { TemplatesScreen } from '../../../src/tui/screens/templates.js';
import { longJobs } from '../../../src/tui/store/tasks.js';

let sim: SimCluster;
let agent: RunningAgent;
let link: Link;
let poller: NodePoller;
const store = new ClusterStore();
const said: Array<{ text: string; err: boolean }> = [];
const confirms: string[][] = [];
/** template.list calls the dashboard made. */
let listCalls = 0;
let screens: ManageScreens;
const DEB = 'templates/debian-12-genericcloud-amd64.qcow2';
/** While set, the node's createVolume waits for it: a provisioning job that stays running. */
let gate: Promise<void> | undefined;

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last status: ${said.at(-1)?.text ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const text = (): string => screens.current?.lines(140, 60).join('\n').replace(/\{[a-z/-]+\}/g, '') ?? '';
const node1 = (): ReturnType<typeof client> => client(link);

/** The simulated hypervisor, its createVolume held while `gate` is set. */
function gated(hv: Hypervisor): Hypervisor {
  return new Proxy(hv, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (prop === 'createVolume') return async (...a: Parameters<Hypervisor['createVolume']>) => {
        if (gate) await gate;
        return target.createVolume(...a);
      };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

before(async () => {
  sim = createSimCluster({ nodes: 1, vmsPerNode: 3, seed: 5, templates: true });
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  agent = await startAgent({ hypervisor: gated(hv), listen: '127.0.0.1:0', pollMs: 300 });
  const direct = openDirectLink('node-01', agent.url);
  // The same link, counting the dashboard's template.list calls.
  link = new Proxy(direct, {
    get(target, prop) {
      if (prop === 'call') return (m: string, ...p: XmlRpcValue[]) => {
        if (m === api.template.list.name) listCalls++;
        return target.call(m, ...p);
      };
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  poller = new NodePoller(link, store, { refreshMs: 300, onEvents: (ev) => screens?.onAgentEvents('node-01', ev) });
  poller.start();
  await until(() => store.vms.size === 3 && store.nodes.get('node-01')?.host !== undefined, 'the node listed');
  screens = new ManageScreens({
    theme: () => makeTheme(true),
    store,
    link: () => link,
    invalidate: () => void poller.invalidate(),
    say: (t, err) => void said.push({ text: t, err: err ?? false }),
    confirm: (lines, yes) => {
      confirms.push(lines);
      yes();
    },
    prompt: (_p, _initial, submit) => submit(''),
    markDirty: () => undefined,
    runEditor: async () => true,
    selectedVm: () => undefined,
    selectedNode: () => 'node-01',
  });
});

after(async () => {
  while (screens?.current) screens.close();
  poller?.stop();
  await link?.close();
  await agent?.close();
  await sim?.close();
});

const vmNames = async (): Promise<string[]> => (await node1().vm.list()).map((v) => v.name);
const volumes = async (): Promise<string[]> => (await node1().storage.volumes('default')).map((v) => v.name);

test(':templates lists the node\'s templates, read on open and on r, not on a timer; c opens the create form with one chosen', async () => {
  listCalls = 0;
  assert.equal(screens.openByName('templates', 'node-01'), true);
  const s = screens.current;
  assert.ok(s instanceof TemplatesScreen);
  await until(() => s.rows().length === 3, 'the templates read');
  assert.equal(listCalls, 1, 'one template.list on open');
  const out = text();
  assert.match(out, /^Templates on node-01: 3 {2}SIMULATED/m);
  assert.match(out, /templates\/rocky-9\.4-genericcloud-base\.qcow2\s+volume\s+rocky-9\.4\s+10G\s+qcow2\s+SIMULATED/);
  // Several poller ticks (300 ms each) later, nothing was read again.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(listCalls, 1, 'no re-read while open without a change');
  s.key('r');
  await until(() => listCalls === 2, 'r reads again');

  s.key('j');
  const chosen = s.selected();
  assert.ok(chosen);
  s.key('c');
  const c = screens.current as CreateScreen;
  assert.equal(c.id, 'create');
  assert.equal(c.node, 'node-01');
  assert.deepEqual([c.input.diskMode, c.input.template, c.input.diskSize], ['template', chosen.t.name, '']);
  screens.close();
});

test('F on a running VM is refused with the reason; on a stopped one, after a confirmation, it becomes a template and back, and an open :templates follows from the node\'s events', async () => {
  const running = [...store.vms.values()].find((v) => v.state === 'running');
  assert.ok(running);
  said.length = 0;
  confirms.length = 0;
  screens.openByName('template', running.name);
  assert.equal(confirms.length, 0, 'no confirmation for a running VM');
  assert.match(said.at(-1)?.text ?? '', new RegExp(`^${running.name} is running: only a stopped VM can be made a template`));
  assert.equal(said.at(-1)?.err, true);

  await node1().vm.destroy(running.name);
  await until(() => store.vms.get(running.key)?.state === 'shutoff', 'the VM stopped in the store');
  screens.openByName('templates', 'node-01');
  const s = screens.current as TemplatesScreen;
  await until(() => s.rows().length === 3, 'the templates read');
  listCalls = 0;
  screens.openByName('template', running.name);
  await until(() => said.some((x) => /is now a template/.test(x.text)), 'the mark');
  assert.match(confirms.at(-1)?.[0] ?? '', new RegExp(`^Make ${running.name} on node-01 a template\\?`));
  await until(() => s.rows().some((r) => r.t.kind === 'vm' && r.t.name === running.name), 'the VM template listed');
  assert.ok(listCalls >= 1);
  // Marked elsewhere (as vem call would): the node's events bring it to the open screen.
  const other = [...store.vms.values()].find((v) => v.name !== running.name);
  assert.ok(other);
  if ((await node1().vm.info(other.name)).state !== 'shutoff') await node1().vm.destroy(other.name);
  await node1().template.mark(other.name);
  await until(() => s.rows().some((r) => r.t.name === other.name), 'a template marked by another client');
  await node1().template.unmark(other.name);
  await until(() => !s.rows().some((r) => r.t.name === other.name), 'and unmarked');

  screens.openByName('template', running.name);
  await until(() => said.some((x) => /is an ordinary VM again/.test(x.text)), 'the unmark');
  assert.match(confirms.at(-1)?.[0] ?? '', new RegExp(`^Make the template ${running.name} on node-01 an ordinary VM again\\?`));
  await until(() => !s.rows().some((r) => r.t.name === running.name), 'gone from the list');
  while (screens.current) screens.close();
});

async function openForm(name: string): Promise<CreateScreen> {
  screens.openByName('create', name);
  const c = screens.current as CreateScreen;
  Object.assign(c.input, { diskMode: 'template', template: DEB, diskSize: '20G', sshKey: 'none', start: 'yes' });
  await until(() => c.facts() !== undefined, 'the node\'s pools, networks and templates');
  return c;
}

const jobs = (): ReturnType<typeof longJobs> => longJobs([], [], screens.manage.provisions.values());

test('a provisioning job outlives its form: listed with its steps, cancelled with job.cancel, nothing left', async () => {
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  const c = await openForm('slow-1');
  c.submit();
  await until(() => jobs().some((j) => j.label.startsWith('provision slow-1 ') && j.state === 'running'), 'the job running');
  screens.close();
  assert.equal(screens.current, undefined, 'the form is closed');
  const j = jobs().find((x) => x.label === `provision slow-1 from ${DEB} on node-01`);
  assert.ok(j);
  assert.deepEqual([j.kind, j.node, j.vmKey, j.state, j.detail], ['provision', 'node-01', 'node-01/slow-1', 'running', 'nothing done; now disk']);
  // As the tasks view's x does (Dashboard.cancelJob), after its confirmation.
  await screens.cmds.call('node-01', api.job.cancel.name, j.job);
  gate = undefined;
  open();
  await until(() => jobs().find((x) => x.job === j.job)?.state === 'cancelled', 'the job cancelled');
  const end = jobs().find((x) => x.job === j.job);
  assert.match(end?.error ?? '', /cancelled; what was made is removed; removed what was made \(default\/slow-1\.qcow2\)/);
  assert.deepEqual(end?.provision?.provision?.steps.map((x) => x.done), [true, false, false, false], 'the disk was made, then the cancel stopped it');
  assert.equal(end?.provision?.provision?.failedStep, 'seed', 'the cancel stopped the step about to start, not the disk that was made');
  assert.ok(!(await vmNames()).includes('slow-1'));
  assert.ok(!(await volumes()).includes('slow-1.qcow2'));
  await until(() => said.some((x) => x.err && /VM slow-1 not made: cancelled: /.test(x.text)), 'the form\'s follower saying so');
});

test('a job another client started (as vem vm create does) is followed from the node\'s events into the task list', async () => {
  const id = await node1().template.provision({ name: 'cli-1', template: DEB, networks: [], start: true });
  await until(() => jobs().some((j) => j.job === id && j.state === 'completed'), 'the job followed from the events');
  const j = jobs().find((x) => x.job === id);
  assert.equal(j?.label, `provision cli-1 from ${DEB} on node-01`);
  assert.match(j?.detail ?? '', /^disk, seed, define, start done \(started elsewhere, by .+\)$/);
  assert.equal(j?.percent, 100);
  assert.equal(screens.manage.provisions.get(`node-01/${id}`)?.by, 'events');
  // An old event of a job the agent no longer knows (its history, on the first events page) adds nothing.
  const before = screens.manage.provisions.size;
  screens.onAgentEvents('node-01', [{ seq: 1, at: 1, source: 'job', kind: 'completed', vm: DEB, detail: { job: 'job-gone-1', kind: 'provision', dest: 'old-1', status: 'completed' } }]);
  assert.equal(screens.manage.provisions.size, before + 1, 'followed at once');
  await until(() => !screens.manage.provisions.has('node-01/job-gone-1'), 'the forgotten job dropped');
  assert.ok(!jobs().some((j) => j.label.startsWith('provision old-1 ')));
});
