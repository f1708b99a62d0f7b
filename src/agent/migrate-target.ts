/**
 * Migrating a VM whose disks are not on storage the target sees, the I/O side:
 * reading this node's and the target's pools into a plan (migrate-storage.ts),
 * creating the target volumes before libvirt copies into them, and removing
 * them again when the migration fails or is cancelled. The agent opens its own
 * connection to the target's libvirt URI (the one libvirtd migrates to) for it.
 *
 * vm.migrate's copyStorage: absent = decided per disk here (a target whose pools
 * cannot be read is migrated without a copy, and libvirt's own safety check
 * refuses what is not shared); true = the same, but an unreadable target is a
 * refusal; false = no copy and no check of ours: the admin says it is shared.
 */
import type { Hypervisor, MigrateOptions, StorageVolumeInfo } from '../libvirt/hypervisor.js';
import { ErrorCode } from '../libvirt/errors.js';
import { copiesStorage, migrationDisks, planStorage, sourceVolume, targetVolumeXml, type DiskPlan, type MigrationDisk, type SourceVolume, type StoragePlan, type TargetPool } from '../common/migrate-storage.js';

/** A volume this migration made on the target. */
export interface TargetVolume {
  pool: string;
  volume: string;
  path?: string;
}

/** What a migration job reports of its disks (job.get's `storage`). */
export interface MigrationStorage {
  /** copy: libvirt copies the disks listed; shared: nothing to copy; trusted: copyStorage false;
   *  unplanned: the target could not be read (or is simulated), libvirt decides. */
  mode: 'copy' | 'shared' | 'trusted' | 'unplanned';
  note?: string;
  disks: DiskPlan[];
  created: TargetVolume[];
  /** After a failure or cancel: the volumes removed again, and those that could not be (with the error). */
  removed: TargetVolume[];
  leftover: Array<TargetVolume & { error: string }>;
}

/** A migration's storage work, run by the job (jobs.ts) around libvirt's migration. */
export interface StorageSteps {
  state: MigrationStorage;
  /** Creates the target volumes; throws (the job fails) when one cannot be made, after removing the others.
   *  `made` is called after each volume is made (the agent saves the job, so a restart knows it). */
  prepare(made?: () => void): Promise<void>;
  /** Removes what prepare() made (a failure or cancel). */
  undo(): Promise<void>;
  close(): Promise<void>;
}

/** A refusal before anything was started: the message names the node, the disk and what to do. */
export class StorageRefusal extends Error {}

export type OpenTarget = (uri: string) => Promise<Hypervisor>;

/** The agent's own connection to the target's libvirt (a short-lived one, for this migration). */
export const openTargetLibvirt: OpenTarget = async (uri) => {
  const { connectLibvirt } = await import('../libvirt/client/index.js');
  return connectLibvirt(uri, { timeoutMs: 20_000, keepaliveMs: 0 });
};

/** The target's name in messages: the host of its URI. */
export function targetName(uri: string): string {
  const m = /^[a-z][a-z0-9+]*:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^/:?]*)/i.exec(uri);
  return m?.[1] ? m[1] : uri;
}

const dirOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
const norm = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/** Disks that planning has to place (the others are never copied). */
function candidates(disks: readonly MigrationDisk[]): MigrationDisk[] {
  return disks.filter((d) => d.device !== 'cdrom' && d.device !== 'floppy' && !d.shared && d.type !== 'network' && (d.path !== undefined || d.volume !== undefined));
}

/** The pools of a node that can hold these disks, each refreshed (a file made outside libvirt shows only after one), with their volumes. */
async function poolsFor(hv: Hypervisor, disks: readonly MigrationDisk[]): Promise<Array<TargetPool & { infos: StorageVolumeInfo[] }>> {
  const dirs = new Set(disks.filter((d) => d.path !== undefined).map((d) => norm(dirOf(d.path ?? ''))));
  const names = new Set(disks.filter((d) => d.pool !== undefined).map((d) => d.pool));
  const wanted = (p: { name: string; path?: string; state: string }): boolean => p.state === 'running' && ((p.path !== undefined && dirs.has(norm(p.path))) || names.has(p.name));
  const first = (await hv.listPools()).filter(wanted);
  await Promise.all(first.map((p) => hv.poolRefresh(p.name).catch(() => undefined)));
  const pools = first.length > 0 ? (await hv.listPools()).filter(wanted) : [];
  return Promise.all(pools.map(async (p) => {
    const infos = await hv.listVolumes(p.name);
    return { name: p.name, ...(p.type !== undefined ? { type: p.type } : {}), ...(p.path !== undefined ? { path: p.path } : {}), running: true, available: p.available, volumes: new Set(infos.map((v) => v.name)), infos };
  }));
}

export interface PlanInput {
  hv: Hypervisor;
  vm: string;
  dest: string;
  /** vm.migrate's copyStorage, as given. */
  copyStorage: boolean | undefined;
  /** The VM's latest block figures by disk target (capacity, allocation), when the collector has them. */
  blockStats?: (target: string) => { capacity?: number; allocation?: number; physical?: number } | undefined;
  open?: OpenTarget;
}

/**
 * Works out the migration's storage before anything starts. Throws StorageRefusal when it
 * cannot start; otherwise returns the steps the job runs and the options libvirt gets.
 */
export async function planMigrationStorage(i: PlanInput, options: MigrateOptions): Promise<{ steps: StorageSteps; options: MigrateOptions }> {
  const node = targetName(i.dest);
  const state: MigrationStorage = { mode: 'shared', disks: [], created: [], removed: [], leftover: [] };
  const none = (): { steps: StorageSteps; options: MigrateOptions } => ({ steps: noSteps(state), options: { ...options, copyStorage: options.copyStorage === true && i.copyStorage === true } });
  if (i.copyStorage === false) {
    state.mode = 'trusted';
    state.note = 'copyStorage false: the disks are taken to be on storage the target shares';
    return none();
  }
  if (i.hv.simulated) {
    // A simulated node reaches its peers only through the simulator, which copies by itself when asked.
    state.mode = 'unplanned';
    state.note = 'a simulated node: the simulator copies the disks itself when copyStorage is true';
    return none();
  }
  let parsed: ReturnType<typeof migrationDisks>;
  try {
    parsed = migrationDisks(await i.hv.domainXml(i.vm));
  } catch (e) {
    // No such VM, or XML we cannot read: the job fails with libvirt's own answer, as before.
    state.mode = 'unplanned';
    state.note = `the VM's disks could not be read (${e instanceof Error ? e.message : String(e)})`;
    return none();
  }
  const { disks } = parsed;
  if (!copiesStorage(parsed.domainType)) {
    state.mode = 'unplanned';
    state.note = `a ${parsed.domainType ?? 'unknown'} domain: libvirt copies storage only for QEMU guests, so its driver decides`;
    return none();
  }
  const todo = candidates(disks);
  if (todo.length === 0) {
    state.disks = planStorage(disks, () => undefined, { node, pools: [] }).disks;
    return none();
  }
  let target: Hypervisor;
  try {
    target = await (i.open ?? openTargetLibvirt)(i.dest);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (i.copyStorage === true) throw new StorageRefusal(`cannot read the storage pools of ${node} (${i.dest}): ${why}; copyStorage: true needs them to place the disk copies (pass copyStorage: false if the disks are on storage both nodes share)`);
    state.mode = 'unplanned';
    state.note = `could not read the storage pools of ${node} (${why}): migrating without a storage copy, so libvirt refuses if a disk is not on shared storage`;
    return none();
  }
  let ok = false;
  try {
    let plan: StoragePlan;
    try {
      const [there, here] = await Promise.all([poolsFor(target, todo), poolsFor(i.hv, todo)]);
      const source = (d: MigrationDisk): SourceVolume | undefined => sourceVolume(d, here, i.blockStats?.(d.target));
      plan = planStorage(disks, source, { node, pools: there });
    } catch (e) {
      if (e instanceof StorageRefusal) throw e;
      const why = e instanceof Error ? e.message : String(e);
      if (i.copyStorage === true) throw new StorageRefusal(`cannot read the storage pools of ${node}: ${why}; copyStorage: true needs them (pass copyStorage: false if the disks are on shared storage)`);
      state.mode = 'unplanned';
      state.note = `could not read the storage pools of ${node} (${why}): migrating without a storage copy, so libvirt refuses if a disk is not on shared storage`;
      return none();
    }
    state.disks = plan.disks;
    if (plan.problems.length > 0) throw new StorageRefusal(`cannot migrate ${i.vm} to ${node}: ${plan.problems.join('; ')}`);
    // Every disk is shared or never copied: no storage copy, even with copyStorage true
    // (libvirt would otherwise copy every writable disk, the shared ones too).
    if (plan.migrateDisks.length === 0) return { steps: noSteps(state), options: { ...options, copyStorage: false } };
    state.mode = 'copy';
    ok = true;
    return { steps: copySteps(target, state), options: { ...options, copyStorage: true, migrateDisks: plan.migrateDisks } };
  } finally {
    if (!ok) await target.close().catch(() => undefined);
  }
}

function noSteps(state: MigrationStorage): StorageSteps {
  return { state, prepare: () => Promise.resolve(), undo: () => Promise.resolve(), close: () => Promise.resolve() };
}

function copySteps(target: Hypervisor, state: MigrationStorage): StorageSteps {
  let undone = false;
  const undo = async (): Promise<void> => {
    if (undone) return;
    undone = true;
    for (const v of state.created) {
      try {
        await target.deleteVolume(v.pool, v.volume);
        state.removed.push(v);
      } catch (e) {
        state.leftover.push({ ...v, error: e instanceof Error ? e.message : String(e) });
      }
    }
  };
  return {
    state,
    async prepare(made) {
      for (const d of state.disks) {
        if (d.action !== 'copy' || d.pool === undefined || d.volume === undefined) continue;
        try {
          const v = await target.createVolume(d.pool, targetVolumeXml(d));
          state.created.push({ pool: d.pool, volume: d.volume, path: v.path });
          made?.();
        } catch (e) {
          await undo();
          throw new Error(`creating volume ${d.volume} in pool ${d.pool} of the target for disk ${d.target} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
      }
    },
    undo,
    close: () => target.close().catch(() => undefined),
  };
}

const sameVolume = (a: TargetVolume, b: TargetVolume): boolean => a.pool === b.pool && a.volume === b.volume;

/** The volumes a failed or cancelled migration still has to remove: made, and neither removed nor reported left yet. */
export function volumesToRemove(state: MigrationStorage): TargetVolume[] {
  return state.created.filter((v) => !state.removed.some((r) => sameVolume(r, v)) && !state.leftover.some((l) => sameVolume(l, v)));
}

/**
 * The copies planned but not recorded as made: an agent stopped while creating one may
 * have left it there unrecorded. Such a volume is reported, never removed (it was not
 * known to be this migration's).
 */
export function unrecordedCopies(state: MigrationStorage): TargetVolume[] {
  const out: TargetVolume[] = [];
  for (const d of state.disks) {
    if (d.action !== 'copy' || d.pool === undefined || d.volume === undefined) continue;
    const v = { pool: d.pool, volume: d.volume };
    if (!state.created.some((c) => sameVolume(c, v))) out.push(v);
  }
  return out;
}

/** The report of a planned copy found on the target though not recorded as made. */
export function unrecordedLeftover(v: TargetVolume, path?: string): TargetVolume & { error: string } {
  return { ...v, ...(path !== undefined ? { path } : {}), error: `not removed: found on the target, but the agent stopped before recording it as made by this migration; if nothing uses it, remove it there (virsh vol-delete --pool ${v.pool} ${v.volume})` };
}

/** Each volume left on a target this agent cannot reach, with why (so nothing is left unsaid). */
export function unreachableLeftovers(volumes: readonly TargetVolume[], uri: string, why: string): Array<TargetVolume & { error: string }> {
  return volumes.map((v) => ({ ...v, error: `not removed: cannot reach ${targetName(uri)} (${uri}): ${why}; remove it there by hand (virsh vol-delete --pool ${v.pool} ${v.volume})` }));
}

/** What the clean-up did, for the job's reason (and so the audit record of the job's end); undefined when nothing was made. */
export function cleanupSummary(state: MigrationStorage): string | undefined {
  const parts: string[] = [];
  const name = (v: TargetVolume): string => `${v.pool}/${v.volume}`;
  if (state.removed.length > 0) parts.push(`removed the target volumes it made: ${state.removed.map(name).join(', ')}`);
  if (state.leftover.length > 0) parts.push(`left on the target: ${state.leftover.map((v) => `${name(v)} (${v.error})`).join('; ')}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/**
 * The storage steps of a migration a previous agent started (adopted after a restart, or
 * settled from the saved jobs file): nothing to prepare; on failure or cancel the volumes
 * it had made are removed through a new connection to the same target URI, and each one
 * that cannot be is reported as left with the reason.
 */
export function resumedSteps(state: MigrationStorage, uri: string, open: OpenTarget = openTargetLibvirt): StorageSteps {
  let undone = false;
  return {
    state,
    prepare: () => Promise.resolve(),
    async undo() {
      if (undone) return;
      undone = true;
      const todo = volumesToRemove(state);
      const unsure = unrecordedCopies(state);
      if (todo.length === 0 && unsure.length === 0) return;
      let target: Hypervisor;
      try {
        target = await open(uri);
      } catch (e) {
        // The unrecorded ones may not exist at all: only what is known made is reported left.
        state.leftover.push(...unreachableLeftovers(todo, uri, e instanceof Error ? e.message : String(e)));
        return;
      }
      try {
        for (const v of unsure) {
          const there = await target.listVolumes(v.pool).then((l) => l.find((x) => x.name === v.volume), () => undefined);
          if (there) state.leftover.push(unrecordedLeftover(v, there.path));
        }
        for (const v of todo) {
          try {
            await target.deleteVolume(v.pool, v.volume);
            state.removed.push(v);
          } catch (e) {
            // Already gone (removed by hand while the agent was down): nothing is left there.
            if ((e as { code?: unknown }).code === ErrorCode.NO_STORAGE_VOL) state.removed.push(v);
            else state.leftover.push({ ...v, error: e instanceof Error ? e.message : String(e) });
          }
        }
      } finally {
        await target.close().catch(() => undefined);
      }
    },
    close: () => Promise.resolve(),
  };
}
