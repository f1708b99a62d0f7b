import type { JobStats, MigrateOptions } from '../hypervisor.js';
import { ErrorCode, LibvirtError } from '../errors.js';
import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { readTypedParams, TypedParamType, writeTypedParams, type TypedParam, type TypedValue } from '../xdr/typed-params.js';
import { writeDomain, type DomainHandle } from './types.js';

/** virDomainMigrateFlags we use. */
export const MigrateFlag = {
  LIVE: 1,
  PEER2PEER: 2,
  PERSIST_DEST: 8,
  UNDEFINE_SOURCE: 16,
  NON_SHARED_DISK: 64,
} as const;

export function migrateFlags(o: MigrateOptions): number {
  let f = MigrateFlag.PEER2PEER;
  if (o.live !== false) f |= MigrateFlag.LIVE;
  if (o.persistOnTarget) f |= MigrateFlag.PERSIST_DEST;
  if (o.undefineSource) f |= MigrateFlag.UNDEFINE_SOURCE;
  if (o.copyStorage) f |= MigrateFlag.NON_SHARED_DISK;
  return f;
}

/** VIR_MIGRATE_PARAM_* typed parameters for the params API. */
export function migrateParams(o: MigrateOptions): TypedParam[] {
  const p: TypedParam[] = [];
  if (o.migrateUri) p.push({ field: 'migrate_uri', type: TypedParamType.STRING, value: o.migrateUri });
  if (o.bandwidthMiBs !== undefined && o.bandwidthMiBs > 0) p.push({ field: 'bandwidth', type: TypedParamType.ULLONG, value: o.bandwidthMiBs });
  // One parameter per disk, all named migrate_disks: libvirt's way of passing a list.
  if (o.copyStorage) for (const t of o.migrateDisks ?? []) p.push({ field: 'migrate_disks', type: TypedParamType.STRING, value: t });
  return p;
}

/** Peer-to-peer migration: the source daemon talks to destUri itself; resolves when it has finished. */
export async function migrateP2P(rpc: RpcConnection, d: DomainHandle, destUri: string, o: MigrateOptions, timeoutMs: number): Promise<void> {
  if (o.maxDowntimeMs !== undefined) {
    await rpc.call(Proc.DOMAIN_MIGRATE_SET_MAX_DOWNTIME, (w) => (writeDomain(w, d), w.uhyper(o.maxDowntimeMs ?? 0), w.uint(0)));
  }
  const params = migrateParams(o);
  await rpc.call(
    Proc.DOMAIN_MIGRATE_PERFORM3_PARAMS,
    (w) => {
      writeDomain(w, d);
      w.optString(destUri);
      writeTypedParams(w, params);
      w.opaque(Buffer.alloc(0));
      w.uint(migrateFlags(o));
    },
    (r) => r.opaque(4194304),
    { timeoutMs },
  );
}

const JOB_TYPES: JobStats['type'][] = ['none', 'bounded', 'unbounded', 'completed', 'failed', 'cancelled'];
const OPERATIONS = ['unknown', 'start', 'save', 'restore', 'incoming-migration', 'outgoing-migration', 'snapshot', 'snapshot-revert', 'dump', 'backup', 'snapshot-delete'];

function n(raw: Record<string, TypedValue>, k: string): number | undefined {
  const v = raw[k];
  return typeof v === 'number' ? v : undefined;
}

export function toJobStats(type: number, raw: Record<string, TypedValue>): JobStats {
  const out: JobStats = { type: JOB_TYPES[type] ?? 'none', raw };
  const op = n(raw, 'operation');
  if (op !== undefined) out.operation = OPERATIONS[op] ?? `operation-${op}`;
  const map: Array<[keyof JobStats, string]> = [
    ['timeElapsedMs', 'time_elapsed'],
    ['timeRemainingMs', 'time_remaining'],
    ['dataTotal', 'data_total'],
    ['dataProcessed', 'data_processed'],
    ['dataRemaining', 'data_remaining'],
    ['memTotal', 'memory_total'],
    ['memProcessed', 'memory_processed'],
    ['memRemaining', 'memory_remaining'],
    ['memDirtyRate', 'memory_dirty_rate'],
    ['memIteration', 'memory_iteration'],
    ['memBps', 'memory_bps'],
    ['downtimeMs', 'downtime'],
    ['setupTimeMs', 'setup_time'],
    ['diskTotal', 'disk_total'],
    ['diskProcessed', 'disk_processed'],
    ['diskRemaining', 'disk_remaining'],
  ];
  for (const [ours, theirs] of map) {
    const v = n(raw, theirs);
    if (v !== undefined) (out as unknown as Record<string, number>)[ours] = v;
  }
  return out;
}

/** The older fixed-struct call, for drivers without job stats (test): same fields, as virsh domjobinfo does. */
async function jobInfo(rpc: RpcConnection, d: DomainHandle): Promise<JobStats> {
  return rpc.call(Proc.DOMAIN_GET_JOB_INFO, (w) => writeDomain(w, d), (r) => {
    const type = r.int();
    const names = ['time_elapsed', 'time_remaining', 'data_total', 'data_processed', 'data_remaining', 'memory_total', 'memory_processed', 'memory_remaining', 'disk_total', 'disk_processed', 'disk_remaining'];
    const raw: Record<string, TypedValue> = {};
    for (const k of names) raw[k] = r.uhyper();
    return toJobStats(type, type === 0 ? {} : raw);
  });
}

/** VIR_DOMAIN_JOB_STATS_COMPLETED = 1: the last finished job instead of the running one (with KEEP_COMPLETED = 2, so others can read it too). */
export async function jobStats(rpc: RpcConnection, d: DomainHandle, completed = false): Promise<JobStats> {
  try {
    const { type, raw } = await rpc.call(Proc.DOMAIN_GET_JOB_STATS, (w) => (writeDomain(w, d), w.uint(completed ? 1 | 2 : 0)), (r) => ({ type: r.int(), raw: readTypedParams(r, 64) }));
    return toJobStats(type, raw);
  } catch (e) {
    if (!completed && e instanceof LibvirtError && e.code === ErrorCode.NO_SUPPORT) return jobInfo(rpc, d);
    throw e;
  }
}
