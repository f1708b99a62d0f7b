/**
 * Cloning a stopped VM from the dashboard: what the clone form checks before
 * sending (pure), and the command that starts the agent's vm.clone job and
 * follows it to the end. The agent makes the final decisions (names, MACs);
 * the preview uses the same volume-naming rule so what is shown is what is made.
 */
import { cloneVolumeName } from '../../agent/clone.js';
import type { NodeStorage, CloneFollow } from '../store/manage.js';
import type { DomainDevices } from '../store/manage-xml.js';
import type { VmRecord } from '../store/model.js';
import { decodeJob, isObj } from '../store/decode.js';
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

  const byPath = new Map<string, { pool: string; volume: string; bytes: number }>();
  for (const [pool, vols] of storage.volumes) for (const v of vols) byPath.set(v.path, { pool, volume: v.name, bytes: v.allocation });
  const taken = (pool: string, n: string, chosen: Set<string>): boolean => chosen.has(`${pool}/${n}`) || (storage.volumes.get(pool)?.some((v) => v.name === n) ?? false);
  const copies: CloneCopy[] = [];
  const shared: string[] = [];
  const chosen = new Set<string>();
  for (const d of devices.disks) {
    if (d.device === 'cdrom' || d.device === 'floppy' || d.shared || (d.type !== 'volume' && d.path === undefined && d.type !== 'network')) {
      shared.push(d.target);
      continue;
    }
    const found =
      d.type === 'volume' && d.pool !== undefined && d.volume !== undefined
        ? { pool: d.pool, volume: d.volume, bytes: storage.volumes.get(d.pool)?.find((v) => v.name === d.volume)?.allocation ?? 0 }
        : d.path !== undefined
          ? byPath.get(d.path)
          : undefined;
    if (!found) {
      errors.push({ field: 'disks', message: `disk ${d.target} (${d.path ?? d.type ?? '?'}) is not a volume of a pool on ${vm.node}: it cannot be copied (detach it, or make it read-only to share it)` });
      continue;
    }
    const to = cloneVolumeName(found.volume, vm.name, name || `${vm.name}-clone`, d.target, (n) => taken(found.pool, n, chosen));
    chosen.add(`${found.pool}/${to}`);
    copies.push({ target: d.target, pool: found.pool, from: found.volume, to, bytes: found.bytes });
  }
  const need = new Map<string, number>();
  for (const c of copies) need.set(c.pool, (need.get(c.pool) ?? 0) + c.bytes);
  for (const [pool, bytes] of need) {
    const p = storage.pools.find((x) => x.name === pool);
    if (p && bytes > p.available) errors.push({ field: 'disks', message: `disks: the copies need ${bytes} bytes in pool ${pool}, which has ${p.available} available` });
  }
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
  try {
    const job = await cmds.call(vm.node, 'vm.clone', vm.name, plan.name, { start: plan.start });
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
      follow = decodeCloneJob(await cmds.call(vm.node, 'job.get', follow.job), follow);
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
