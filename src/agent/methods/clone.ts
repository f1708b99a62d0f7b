/** vm.clone: a stopped VM copied under a new name, as a job (volume copies take as long as the data). */
import { randomInt } from 'node:crypto';
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import type { Hypervisor, StorageVolumeInfo, VolumeRef } from '../../libvirt/hypervisor.js';
import { bytesPerPool, cloneDomainXml, CloneError, cloneVolumeXml, planClone, type ClonePlan, type VolumeOnNode } from '../clone.js';
import type { Job } from '../jobs.js';
import { badArg, opts, optBool, str, type AgentCore } from '../core.js';

/** libvirt's rules for a domain name, plus ours: no leading dash and no whitespace at either end. */
function checkVmName(name: string): void {
  if (name === '' || name.length > 200) throw badArg('the new VM needs a name of 1 to 200 characters');
  if (name.includes('/')) throw badArg(`VM name '${name}' contains '/', which libvirt refuses`);
  if (name !== name.trim() || name.startsWith('-') || [...name].some((ch) => ch.charCodeAt(0) < 0x20)) throw badArg(`VM name '${name}' has leading/trailing spaces, a leading dash or control characters`);
}

interface PoolVolumes {
  pool: string;
  available: number;
  volumes: StorageVolumeInfo[];
}

async function poolsOf(hv: Hypervisor): Promise<PoolVolumes[]> {
  const pools = (await hv.listPools()).filter((p) => p.state === 'running');
  return Promise.all(pools.map(async (p) => ({ pool: p.name, available: p.available, volumes: await hv.listVolumes(p.name) })));
}

/** Reads what the node holds and plans the clone; every refusal is a fault naming what to change. */
export async function prepareClone(core: AgentCore, vm: string, newName: string): Promise<{ plan: ClonePlan; xml: string }> {
  checkVmName(newName);
  const hv = core.hv();
  const info = await hv.domainInfo(vm);
  if (info.state !== 'shutoff') throw badArg(`${vm} is ${info.state}; a clone is made from a stopped VM (shut it down first, so its disks are consistent)`);
  if (!info.persistent) throw badArg(`${vm} is transient; only a defined VM can be cloned`);
  const names = new Set((await hv.listDomains()).map((d) => d.name));
  if (names.has(newName)) throw badArg(`a VM named '${newName}' exists on this node already`);
  const [xml, pools] = await Promise.all([hv.domainXml(vm, { inactive: true, secure: true }), poolsOf(hv)]);
  const byPath = new Map<string, VolumeOnNode>();
  const byRef = new Map<string, VolumeOnNode>();
  for (const p of pools) {
    for (const v of p.volumes) {
      const o: VolumeOnNode = { pool: p.pool, volume: v.name, allocation: v.allocation, capacity: v.capacity, ...(v.format !== undefined ? { format: v.format } : {}) };
      byPath.set(v.path, o);
      byRef.set(`${p.pool}/${v.name}`, o);
    }
  }
  const macs = new Set<string>();
  for (const d of core.domains.entries.values()) for (const i of d.summary?.interfaces ?? []) if (typeof i.mac === 'string') macs.add(i.mac.toLowerCase());
  let plan: ClonePlan;
  try {
    plan = planClone(xml, newName, {
      volumeAt: (path) => byPath.get(path),
      volume: (r: VolumeRef) => byRef.get(`${r.pool}/${r.volume}`),
      volumeTaken: (r: VolumeRef) => byRef.has(`${r.pool}/${r.volume}`),
      macTaken: (m) => macs.has(m),
      random24: () => randomInt(0, 1 << 24),
    });
  } catch (e) {
    if (e instanceof CloneError) throw badArg(e.message);
    throw e;
  }
  for (const [pool, bytes] of bytesPerPool(plan)) {
    const avail = pools.find((p) => p.pool === pool)?.available ?? 0;
    if (bytes > avail) throw badArg(`pool ${pool} has ${avail} bytes available; the copies of ${vm}'s disks need ${bytes}`);
  }
  return { plan, xml };
}

/** Copies the volumes one by one, defines the clone, starts it if asked; on failure removes what it made. */
async function runClone(hv: Hypervisor, job: Job, plan: ClonePlan, xml: string, start: boolean, onDefined: (name: string) => void): Promise<void> {
  const made: VolumeRef[] = [];
  let defined = false;
  try {
    const paths = new Map<string, string>();
    for (const [i, v] of plan.volumes.entries()) {
      if (job.cancelRequested) throw new Error('cancelled before all volumes were copied; the copies made are removed');
      const copy = await hv.cloneVolume(v.to.pool, cloneVolumeXml(v), v.from);
      made.push(v.to);
      paths.set(v.target, copy.path);
      const st = job.clone?.volumes[i];
      if (st) st.done = true;
    }
    if (job.cancelRequested) throw new Error('cancelled; the copies made are removed');
    await hv.defineDomain(cloneDomainXml(xml, plan, paths));
    defined = true;
    onDefined(plan.name);
    if (start) await hv.start(plan.name);
  } catch (e) {
    // A clone that failed to start is still a good clone: keep it, and say so.
    if (defined && start) throw new Error(`the clone ${plan.name} was made but did not start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    for (const v of made.reverse()) await hv.deleteVolume(v.pool, v.volume).catch(() => undefined);
    throw e;
  }
}

export function registerCloneMethods(r: MethodRegistry, core: AgentCore): void {
  serve(r, api.vm.clone, async (p, ctx) => {
      const vm = str(p, 0);
      const newName = str(p, 1);
      const o = opts(p, 2);
      for (const k of Object.keys(o)) if (k !== 'start') throw badArg(`unknown clone option '${k}' (only start)`);
      const start = optBool(o, 'start') ?? false;
      const { plan, xml } = await prepareClone(core, vm, newName);
      const hv = core.hv();
      const clone = {
        name: plan.name,
        volumes: plan.volumes.map((v) => ({ target: v.target, pool: v.to.pool, from: v.from.volume, to: v.to.volume, bytes: v.from.allocation, done: false })),
        shared: plan.shared,
        macs: plan.macs,
        start,
      };
      const job = core.jobs.startTask('clone', vm, newName, { start }, ctx.caller, { clone }, (j) =>
        runClone(hv, j, plan, xml, start, (name) => {
          core.domains.markDirty(name);
          core.events.push('vm', 'defined', name, { clonedFrom: vm, job: j.id });
        }),
      );
      return job.id;
    });
}
