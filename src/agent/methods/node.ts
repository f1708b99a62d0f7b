/** node.*, vm.migrate + job.*, events.poll. */
import { capabilitiesOf } from '../../libvirt/capabilities.js';
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';

import type { MigrateOptions, StoragePoolInfo, StorageVolumeInfo } from '../../libvirt/hypervisor.js';
import { jobToValue } from '../jobs.js';
import { planMigrationStorage, StorageRefusal } from '../migrate-target.js';
import { sourceVolume } from '../../common/migrate-storage.js';
import type { Job, MigrationStorageView, NodeInfo, NodeStats } from '../../api/index.js';
import { badArg, notFound, num, opts, optBool, optNum, optStr, plain, str, type AgentCore } from '../core.js';

// jobs.ts builds its values untyped; the contract test (test/api) checks them against Job.
const jobWire = (j: Parameters<typeof jobToValue>[0]): Job => jobToValue(j) as unknown as Job;

export const AGENT_VERSION = '0.1.0';

/** How old the host's static facts (hostname, versions, CPUs, memory size) may be before node.info reads them again, in the background. */
export const HOST_INFO_MAX_AGE_MS = 60_000;

/** How old node.migrationStorage's reading of the pools may be. */
export const POOLS_MAX_AGE_MS = 10_000;

type PoolsHere = Array<{ pool: StoragePoolInfo; name: string; infos: StorageVolumeInfo[] }>;

export function registerNodeMethods(r: MethodRegistry, core: AgentCore): void {
  // libvirt's hostInfo is six calls, one of them virConnectGetHostname, which resolves
  // the host's name (getaddrinfo) on every call: with a slow or lossy DNS it takes the
  // resolver's 5 s timeout now and then. Those facts change only with a libvirtd restart
  // (the agent reconnects and reads them again) or a hot-plug, so node.info answers from
  // what it has and re-reads at most once a minute without making its caller wait.
  let hostSeen = core.host;
  let hostReadAt = Date.now();
  let reading: Promise<void> | undefined;
  const readHost = (): Promise<void> =>
    (reading ??= Promise.resolve()
      .then(() => core.hv().hostInfo())
      .then((h) => {
        core.host = hostSeen = h;
        hostReadAt = Date.now();
      })
      .catch(() => undefined /* reported through libvirt.up */)
      .finally(() => (reading = undefined)));
  serve(r, api.node.info, async () => {
      if (core.host !== hostSeen) {
        // Read again at (re)connect.
        hostSeen = core.host;
        hostReadAt = Date.now();
      }
      if (core.link.status().up) {
        if (!core.host) await readHost();
        else if (Date.now() - hostReadAt > HOST_INFO_MAX_AGE_MS) void readHost();
      }
      const st = core.link.status();
      const libvirt: NodeInfo['libvirt'] = { up: st.up, since: st.since, attempts: st.attempts, reason: st.reason, nextRetryAt: st.nextRetryAt };
      const c = core.collector;
      const v: NodeInfo = {
        libvirt,
        agent: {
          version: AGENT_VERSION,
          startedAt: core.startedAt,
          pollMs: core.pollMs,
          historySeconds: core.historySeconds,
          readOnly: core.readOnly,
          collections: c.collections,
          dropped: c.dropped,
          errors: c.errors,
          lastCollectMs: Math.round(c.lastCollectMs * 100) / 100,
          vms: c.vms.size,
          historyBytes: c.historyBytes(),
          lastError: c.lastError,
        },
        capacity: { vmsTotal: 0, vmsRunning: 0, vcpusAllocated: 0, memAllocatedKiB: 0 },
      };
      // What the node holds and what is committed to VMs (level-2 placement reads this).
      let running = 0;
      let vcpus = 0;
      let memKiB = 0;
      for (const e of c.vms.values()) {
        if (e.lastTick < c.tick - 3) continue;
        const st = e.last.state?.state;
        if (st === 'shutoff' || st === 'crashed' || st === 'nostate' || st === undefined) continue;
        running++;
        vcpus += e.last.vcpu?.current ?? core.domains.entries.get(e.name)?.info?.vcpus ?? 0;
        memKiB += e.last.balloon?.currentKiB ?? core.domains.entries.get(e.name)?.info?.memKiB ?? 0;
      }
      const cap: NodeInfo['capacity'] = { vmsTotal: c.vms.size, vmsRunning: running, vcpusAllocated: vcpus, memAllocatedKiB: memKiB };
      if (c.lastNode) {
        cap.memTotalKiB = c.lastNode.memory.totalKiB;
        cap.memFreeKiB = c.lastNode.memory.freeKiB;
      }
      const ns = c.node.latest();
      if (ns) cap.cpuPct = Math.round(ns.cpuPct * 100) / 100;
      v.capacity = cap;
      if (core.link.status().up) v.capabilities = plain(capabilitiesOf(core.hv()));
      return core.host ? { ...v, ...plain(core.host) } : v;
    });

  serve(r, api.node.stats, (p) => {
      const c = core.collector;
      const { ticks, cols } = c.node.columnsAfter(num(p, 0), p[1] === undefined ? undefined : num(p, 1));
      const out: NodeStats = {
        cursor: ticks.length > 0 ? (ticks[ticks.length - 1] as number) : Math.min(Math.max(num(p, 0), 0), c.tick),
        intervalMs: core.pollMs,
        t: ticks.map((k) => c.clock.timeOf(k) || 0),
        ...cols,
      };
      if (c.lastNode) out.latest = plain(c.lastNode);
      return out;
    });

  // The planner's view of this node's storage: its running pools (as a target) and its VMs' disks sized
  // as vm.migrate sizes them, from the cached definitions (no VM XML fetched per plan).
  // Listing a pool's volumes is a libvirt call per volume, and a dashboard plans every 3 s: the
  // pools are read again only after POOLS_MAX_AGE_MS (or a new connection), and by one caller at a time.
  let poolsRead: { at: number; hv: unknown; value: Promise<PoolsHere> } | undefined;
  const poolsHere = (): Promise<PoolsHere> => {
    const hv = core.hv();
    if (poolsRead && poolsRead.hv === hv && Date.now() - poolsRead.at < POOLS_MAX_AGE_MS) return poolsRead.value;
    const value = (async (): Promise<PoolsHere> => {
      const running = (await hv.listPools()).filter((p) => p.state === 'running');
      return Promise.all(running.map(async (p) => ({ pool: p, name: p.name, infos: await hv.listVolumes(p.name).catch(() => []) })));
    })();
    poolsRead = { at: Date.now(), hv, value };
    value.catch(() => (poolsRead = undefined));
    return value;
  };
  serve(r, api.node.migrationStorage, async () => {
    const here = await poolsHere();
    const out: MigrationStorageView = {
      pools: here.map(({ pool, infos }) => ({
        name: pool.name, available: pool.available, volumes: infos.map((v) => v.name),
        ...(pool.type !== undefined ? { type: pool.type } : {}), ...(pool.path !== undefined ? { path: pool.path } : {}),
      })),
      vms: [],
      unknown: [],
    };
    const names = new Set([...core.domains.entries.keys(), ...core.collector.vms.keys()]);
    for (const name of [...names].sort()) {
      const m = core.domains.entries.get(name)?.migration;
      if (!m) {
        out.unknown.push(name);
        continue;
      }
      const block = core.collector.vms.get(name)?.last.block;
      out.vms.push({
        name, ...(m.domainType !== undefined ? { domainType: m.domainType } : {}),
        disks: m.disks.map((d) => {
          const size = sourceVolume(d, here, block?.find((b) => b.name === d.target));
          return { ...d, ...(size ? { capacity: size.capacity, allocation: size.allocation } : {}) };
        }),
      });
    }
    return plain(out);
  });

  serve(r, api.vm.migrate, async (p, ctx) => {
      const o = opts(p, 2);
      const copyStorage = optBool(o, 'copyStorage');
      const mo: MigrateOptions = {
        live: optBool(o, 'live') ?? true,
        persistOnTarget: optBool(o, 'persistOnTarget') ?? true,
        undefineSource: optBool(o, 'undefineSource') ?? true,
        copyStorage: copyStorage ?? false,
      };
      const bw = optNum(o, 'bandwidthMiBs');
      if (bw !== undefined) mo.bandwidthMiBs = bw;
      const mu = optStr(o, 'migrateUri');
      if (mu !== undefined) mo.migrateUri = mu;
      const dt = optNum(o, 'maxDowntimeMs');
      if (dt !== undefined) mo.maxDowntimeMs = dt;
      const known = new Set(['live', 'persistOnTarget', 'undefineSource', 'copyStorage', 'bandwidthMiBs', 'migrateUri', 'maxDowntimeMs']);
      for (const k of Object.keys(o)) if (!known.has(k)) throw badArg(`unknown migration option '${k}'`);
      const dest = str(p, 1);
      if (!/^[a-z][a-z0-9+]*:\/\//.test(dest)) throw badArg(`destination must be a libvirt URI like qemu+tcp://HOST/system, got '${dest}'`);
      const vm = str(p, 0);
      const hv = core.hv();
      // The disks are placed before the job exists: a target that cannot take them is a refusal, nothing started.
      const planned = await planMigrationStorage({
        hv, vm, dest, copyStorage,
        blockStats: (target) => core.collector.vms.get(vm)?.last.block?.find((b) => b.name === target),
      }, mo).catch((e: unknown) => {
        if (e instanceof StorageRefusal) throw badArg(e.message);
        throw e;
      });
      return core.jobs.startMigration(hv, vm, dest, planned.options, ctx.caller, planned.steps).id;
    });

  serve(r, api.job.get, async (p) => {
      const j = await core.jobs.getFresh(core.link.status().up ? core.hv() : undefined, str(p, 0));
      if (!j) throw notFound(`no job '${str(p, 0)}' (jobs are kept until the agent restarts, the last 200 finished ones)`);
      return jobWire(j);
    });

  serve(r, api.job.cancel, async (p) => {
      const j = await core.jobs.cancel(core.hv(), str(p, 0));
      if (!j) throw notFound(`no job '${str(p, 0)}'`);
      return jobWire(j);
    });

  serve(r, api.job.list, () => core.jobs.list().map(jobWire));

}
