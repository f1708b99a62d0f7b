/**
 * Cloning a stopped VM from the dashboard: what the clone form checks before
 * sending (pure), and the command that starts the agent's vm.clone job and
 * follows it to the end. The agent makes the final decisions (names, MACs);
 * the preview plans with the agent's own planner (src/common/clone-plan.ts), so
 * what is shown is what is made.
 */
import { planClone, type CloneDisk, type VolumeOnNode } from '../../common/clone-plan.js';
import type { NodeStorage, CloneFollow } from '../store/manage.js';
import type { DomainDevices } from '../store/manage-xml.js';
import type { VmRecord } from '../store/model.js';
import { decodeJob, isObj } from '../store/decode.js';
import { invoke, type Caller } from '../../api/client.js';
import { api } from '../../api/index.js';
import type { XmlRpcValue } from '../store/link.js';
import { nameProblem, type FieldError } from './manage-validate.js';
import { errText, type ManageCommands } from './manage.js';

export interface CloneInput {
  name: string;
  start: string;
}

export interface CloneCopy {
  target: string;
  pool: string;
  from: string;
  to: string;
  bytes: number;
}

export interface ClonePreview {
  copies: CloneCopy[];
  /** Targets the clone shares with its source: CD-ROMs, read-only and shareable disks, empty drives. */
  shared: string[];
  nics: number;
  errors: FieldError[];
  /** Set when nothing stands in the way. */
  plan?: { name: string; start: boolean };
}

export function emptyClone(vm: string): CloneInput {
  return { name: `${vm}-clone`, start: 'no' };
}

/** The form checked against the VM, its devices and the node's pools; every problem names its field. */
export function previewClone(vm: VmRecord, devices: DomainDevices, storage: NodeStorage, vmNames: string[], input: CloneInput): ClonePreview {
  const errors: FieldError[] = [];
  const name = input.name.trim();
  const np = nameProblem(name, 'name');
  if (np) errors.push({ field: 'name', message: np });
  else if (vmNames.includes(name)) errors.push({ field: 'name', message: `name: ${vm.node} already has a VM named '${name}'` });
  const start = /^(y|yes|true|1)$/i.test(input.start.trim()) ? true : /^(n|no|false|0|)$/i.test(input.start.trim()) ? false : undefined;
  if (start === undefined) errors.push({ field: 'start', message: `start now: '${input.start}' is not yes or no` });
  if (vm.state !== 'shutoff') errors.push({ field: 'state', message: `${vm.name} is ${vm.state}: a clone is made from a stopped VM (shut it down first)` });

  const byPath = new Map<string, VolumeOnNode>();
  const byRef = new Map<string, VolumeOnNode>();
  for (const [pool, vols] of storage.volumes) {
    for (const v of vols) {
      const o: VolumeOnNode = { pool, volume: v.name, allocation: v.allocation, capacity: v.capacity, ...(v.format !== undefined ? { format: v.format } : {}) };
      if (v.path !== '') byPath.set(v.path, o);
      byRef.set(`${pool}/${v.name}`, o);
    }
  }
  const disks: CloneDisk[] = devices.disks.map((d) => ({
    target: d.target,
    device: d.device,
    type: d.type ?? 'file',
    shared: d.shared === true,
    ...(d.path !== undefined ? { path: d.path } : {}),
    ...(d.pool !== undefined ? { pool: d.pool } : {}),
    ...(d.volume !== undefined ? { volume: d.volume } : {}),
  }));
  let draw = 0;
  const { plan, problems } = planClone({ name: vm.name, disks, macs: devices.nics.map((n) => n.mac ?? '') }, name || `${vm.name}-clone`, {
    node: vm.node,
    volumeAt: (path) => byPath.get(path),
    volume: (r) => byRef.get(`${r.pool}/${r.volume}`),
    volumeTaken: (r) => byRef.has(`${r.pool}/${r.volume}`),
    // The preview shows no MACs (the agent draws them); any distinct draws will do.
    macTaken: () => false,
    random24: () => draw++,
    available: (pool) => storage.pools.find((p) => p.name === pool)?.available,
  });
  for (const p of problems) errors.push({ field: 'disks', message: p.message });
  const copies: CloneCopy[] = plan.volumes.map((v) => ({ target: v.target, pool: v.to.pool, from: v.from.volume, to: v.to.volume, bytes: v.from.allocation }));
  const shared = plan.shared;
  const out: ClonePreview = { copies, shared, nics: devices.nics.length, errors };
  if (errors.length === 0 && start !== undefined) out.plan = { name, start };
  return out;
}

/** The clone part of a job.get answer. */
export function decodeCloneJob(v: XmlRpcValue, prev: CloneFollow): CloneFollow {
  const j = decodeJob(v);
  const c = isObj(v) && isObj(v['clone']) ? v['clone'] : undefined;
  const vols = c && Array.isArray(c['volumes']) ? c['volumes'] : [];
  const next: CloneFollow = {
    ...prev,
    state: j.state,
    bytesDone: j.dataProcessed ?? prev.bytesDone,
    bytesTotal: j.dataTotal ?? prev.bytesTotal,
    percent: isObj(v) && isObj(v['progress']) && typeof v['progress']['percent'] === 'number' ? v['progress']['percent'] : prev.percent,
    volumes: vols.filter(isObj).map((o) => ({ target: String(o['target'] ?? '?'), pool: String(o['pool'] ?? '?'), to: String(o['to'] ?? '?'), done: o['done'] === true })),
  };
  if (j.error !== undefined) next.error = j.error;
  return next;
}

/**
 * Start the agent's clone job and follow it every `everyMs` until it ends; the
 * follow state sits in the store (the screen draws it), the end goes to the
 * status line. True when the clone was made.
 */
export async function cloneVm(cmds: ManageCommands, vm: VmRecord, plan: { name: string; start: boolean }, everyMs = 500): Promise<boolean> {
  const store = cmds.store;
  const say = (t: string, e?: boolean): void => cmds.host.say(t, e);
  say(`cloning ${vm.name} as ${plan.name} on ${vm.node}...`);
  let follow: CloneFollow;
  // The node's calls through the command layer's link, with names and shapes from src/api.
  const agent: Caller = { call: (m, ...p) => cmds.call(vm.node, m, ...p) };
  try {
    const job = await invoke(agent, api.vm.clone, [vm.name, plan.name, { start: plan.start }]);
    follow = { node: vm.node, source: vm.name, name: plan.name, job: String(job), state: 'running', percent: 0, bytesDone: 0, bytesTotal: 0, volumes: [], startedAt: Date.now() };
  } catch (e) {
    say(`clone of ${vm.name} refused: ${errText(e)}`, true);
    store.clones.set(vm.key, { node: vm.node, source: vm.name, name: plan.name, job: '', state: 'failed', percent: 0, bytesDone: 0, bytesTotal: 0, volumes: [], error: errText(e), startedAt: Date.now() });
    store.changed();
    return false;
  }
  store.clones.set(vm.key, follow);
  store.changed();
  let misses = 0;
  while (follow.state === 'running') {
    await new Promise((r) => setTimeout(r, everyMs));
    try {
      follow = decodeCloneJob(await agent.call(api.job.get.name, follow.job), follow);
      misses = 0;
    } catch (e) {
      // A dropped link comes back; the job runs on in the agent meanwhile.
      if (++misses >= 120) follow = { ...follow, state: 'failed', error: `lost track of job ${follow.job}: ${errText(e)}` };
    }
    store.clones.set(vm.key, follow);
    store.changed();
  }
  cmds.host.invalidate(vm.node);
  if (follow.state === 'completed') {
    say(`cloned ${vm.name} as ${plan.name} on ${vm.node}: ${follow.volumes.length} volume${follow.volumes.length === 1 ? '' : 's'} copied${plan.start ? ', started' : ''}`);
    return true;
  }
  say(`clone of ${vm.name} ${follow.state}: ${follow.error ?? 'no reason given'}`, true);
  return false;
}
