/**
 * Level-1 balancing in the node agent: after each collection the agent calls
 * tick(); when enabled, the pure planner (src/balancer/level1.ts) decides CPU
 * shares, optional caps and balloon targets and they are applied through
 * libvirt (scheduler parameters, setMemory). XML-RPC methods
 * balancer.level1.status / enable / disable / dryRun. Off until enabled.
 */
import { domainStats } from '../libvirt/capabilities.js';
import type { MethodRegistry } from '../common/xmlrpc/registry.js';
import { isStruct, type XmlRpcStruct, type XmlRpcValue } from '../common/xmlrpc/value.js';
import { UsageError } from '../common/errors.js';
import { DEFAULT_LEVEL1, planLevel1, type L1VmPolicy, type Level1Config, type Level1Observation, type Level1Plan } from '../balancer/level1.js';
import type { Hypervisor, SchedulerParams } from '../libvirt/hypervisor.js';

export type { Level1Observation } from '../balancer/level1.js';

/**
 * One change level 1 made to a VM, before -> after, with the planner's reason.
 * The agent publishes each as a `balancer/level1` event (events.poll), so the
 * dashboard's node view and event log show them without a poll of their own.
 */
export interface Level1Adjustment {
  vm: string;
  what: 'shares' | 'quota' | 'balloon';
  /** Undefined when level 1 had not seen the value before (first tick after start). */
  before?: number;
  after: number;
  reason: string;
}

/** An adjustment as an event's detail struct (XML-RPC has no undefined). */
export function adjustmentDetail(a: Level1Adjustment): XmlRpcStruct {
  const d: XmlRpcStruct = { what: a.what, after: a.after, reason: a.reason };
  if (a.before !== undefined) d.before = a.before;
  return d;
}

/**
 * How this node's scheduler takes a CPU share and a cap, read off the driver's own schedinfo
 * answer (the fields it lists), not from a table of driver names: cgroup drivers (QEMU, LXC)
 * list cpu_shares and the CFS vcpu_quota/vcpu_period; libxl's credit scheduler lists weight
 * and cap (and refuses cpu_shares, so a tick that sent it failed for every VM).
 */
export type SchedulerModel = { kind: 'shares'; quota: boolean } | { kind: 'weight'; cap: boolean };

export function schedulerModel(p: SchedulerParams): SchedulerModel | undefined {
  if (p.cpuShares !== undefined) return { kind: 'shares', quota: p.vcpuQuota !== undefined };
  if (p['weight'] !== undefined) return { kind: 'weight', cap: p['cap'] !== undefined };
  return undefined;
}

/** The credit scheduler's default weight (256) is cgroup v1's default shares (1024) / 4, libvirt's own defaults. */
const SHARES_PER_WEIGHT = 4;

/**
 * Level 1's decision (shares, a per-vCPU CFS quota or -1) in the driver's own fields. A credit
 * cap is % of one host CPU for the whole domain (0 = none), so the per-vCPU quota times vCPUs.
 */
export function schedulerParamsFor(m: SchedulerModel, shares: number, quotaUs: number | undefined, periodUs: number, vcpus: number): SchedulerParams {
  if (m.kind === 'weight') {
    const p: SchedulerParams = { weight: Math.min(65535, Math.max(1, Math.round(shares / SHARES_PER_WEIGHT))) };
    if (m.cap && quotaUs !== undefined) p['cap'] = quotaUs < 0 ? 0 : Math.max(1, Math.ceil((quotaUs / periodUs) * Math.max(1, vcpus) * 100));
    return p;
  }
  const p: SchedulerParams = { cpuShares: shares };
  if (m.quota && quotaUs !== undefined) {
    p.vcpuQuota = quotaUs;
    p.vcpuPeriod = periodUs;
  }
  return p;
}

/** A driver's current value in level 1's terms (shares), for the adjustment's "before". */
export function sharesOf(m: SchedulerModel, p: SchedulerParams): number | undefined {
  if (m.kind === 'shares') return p.cpuShares;
  const w = p['weight'];
  return w === undefined ? undefined : w * SHARES_PER_WEIGHT;
}

export interface Level1Handle {
  tick(): Promise<void>;
  close(): void;
}

interface State {
  enabled: boolean;
  config: Level1Config;
  policies: Map<string, L1VmPolicy>;
  ticks: number;
  lastTick?: Date;
  last?: Level1Plan;
  applied: number;
  errors: Array<{ vm: string; error: string; at: Date }>;
  shares: Map<string, number>;
  quotas: Map<string, number>;
}

function planToValue(p: Level1Plan): XmlRpcStruct {
  return {
    contended: p.contended,
    pressure: p.pressure,
    freeShare: Number(p.freeShare.toFixed(4)),
    decisions: p.decisions.map((d) => {
      const o: XmlRpcStruct = { vm: d.vm, shares: d.shares, entitledCores: Number(d.entitledCores.toFixed(3)), reason: d.reason };
      if (d.balloonKiB !== undefined) o.balloonKiB = d.balloonKiB;
      if (d.quotaUs !== undefined) o.quotaUs = d.quotaUs;
      return o;
    }),
  };
}

const NUM_KEYS = ['pressureFree', 'guestFree', 'shrinkStep', 'relaxStep', 'memBudgetKiB', 'headroom', 'floorShare', 'baseShares'] as const;
const VM_KEYS = ['priority', 'minShares', 'maxShares', 'minMemKiB', 'maxMemKiB'] as const;

/** Read enable()'s optional settings struct; unknown or ill-typed fields are refused, not ignored. */
export function parseLevel1Settings(v: XmlRpcValue | undefined, base: Level1Config): { config: Level1Config; policies: Map<string, L1VmPolicy> } {
  const config = { ...base };
  const policies = new Map<string, L1VmPolicy>();
  if (v === undefined) return { config, policies };
  if (!isStruct(v)) throw new UsageError('balancer.level1.enable: settings must be a struct');
  for (const [k, x] of Object.entries(v)) {
    if ((NUM_KEYS as readonly string[]).includes(k)) {
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new UsageError(`balancer.level1.enable: ${k} must be a number >= 0`);
      (config as unknown as Record<string, number>)[k] = x;
    } else if (k === 'caps') {
      if (typeof x !== 'boolean') throw new UsageError('balancer.level1.enable: caps must be a boolean');
      config.caps = x;
    } else if (k === 'vms') {
      if (!isStruct(x)) throw new UsageError('balancer.level1.enable: vms must be a struct {name: {priority, minShares, ...}}');
      for (const [name, pv] of Object.entries(x)) {
        if (!isStruct(pv)) throw new UsageError(`balancer.level1.enable: vms.${name} must be a struct`);
        const pol: L1VmPolicy = {};
        for (const [pk, px] of Object.entries(pv)) {
          if (!(VM_KEYS as readonly string[]).includes(pk) || typeof px !== 'number' || !(px >= 0)) throw new UsageError(`balancer.level1.enable: vms.${name}.${pk} is not a known number field (${VM_KEYS.join(', ')})`);
          pol[pk as (typeof VM_KEYS)[number]] = px;
        }
        policies.set(name, pol);
      }
    } else {
      throw new UsageError(`balancer.level1.enable: unknown setting '${k}'`, `known: ${[...NUM_KEYS, 'caps', 'vms'].join(', ')}`);
    }
  }
  return { config, policies };
}

/** The agent collector's per-tick view (src/agent/observation.ts), as far as level 1 reads it. */
interface CollectorObservation {
  cpus: number;
  memTotalKiB: number;
  memUsedKiB: number;
  vms: Array<{ name: string; state: string; vcpus: number; memKiB: number; maxMemKiB: number; cpuPct: number; memUsedKiB: number }>;
}

function isCollectorObservation(x: unknown): x is CollectorObservation {
  const o = x as Partial<CollectorObservation> | null;
  return typeof o === 'object' && o !== null && typeof o.cpus === 'number' && typeof o.memUsedKiB === 'number' && Array.isArray(o.vms);
}

/** Accepts a Level1Observation, or the agent collector's observation (cpuPct = % of the whole node). */
export function toLevel1Observation(x: Level1Observation | CollectorObservation): Level1Observation {
  if (!isCollectorObservation(x)) return x;
  const cores = Math.max(1, x.cpus);
  return {
    cores,
    memTotalKiB: x.memTotalKiB,
    memFreeKiB: Math.max(0, x.memTotalKiB - x.memUsedKiB),
    vms: x.vms.filter((v) => v.state === 'running').map((v) => ({
      name: v.name, vcpus: Math.max(1, v.vcpus), cpuDemand: (v.cpuPct / 100) * cores,
      memMaxKiB: v.maxMemKiB, memCurKiB: v.memKiB, memUsedKiB: v.memUsedKiB > 0 ? v.memUsedKiB : undefined,
    })),
  };
}

export interface Level1Options {
  samples: () => Level1Observation | CollectorObservation;
  config?: Partial<Level1Config>;
  /** Each change applied (not the unchanged re-applications); the agent turns them into events. */
  onAdjust?: (a: Level1Adjustment) => void;
  /** Switched on or off (by balancer.level1.enable/disable), for the event log. */
  onSwitch?: (enabled: boolean, settings: XmlRpcStruct) => void;
}

export function registerLevel1(registry: MethodRegistry, hv: Hypervisor, o: Level1Options): Level1Handle {
  const st: State = { enabled: false, config: { ...DEFAULT_LEVEL1, ...o.config }, policies: new Map(), ticks: 0, applied: 0, errors: [], shares: new Map(), quotas: new Map() };
  let running = false;
  let closed = false;
  // Learned from the first schedinfo answer; forgotten when a set fails (the daemon may have changed).
  let model: SchedulerModel | undefined;

  const observe = (): Level1Observation => {
    const obs = toLevel1Observation(o.samples());
    return {
      ...obs,
      vms: obs.vms.map((v) => ({ ...v, shares: v.shares ?? st.shares.get(v.name), policy: { ...v.policy, ...st.policies.get(v.name) } })),
    };
  };

  const status = (): XmlRpcStruct => {
    const s: XmlRpcStruct = {
      enabled: st.enabled, ticks: st.ticks, applied: st.applied, caps: st.config.caps, pressureFree: st.config.pressureFree,
      errors: st.errors.slice(-20).map((e) => ({ vm: e.vm, error: e.error, at: e.at })),
    };
    if (st.config.memBudgetKiB !== undefined) s.memBudgetKiB = st.config.memBudgetKiB;
    if (st.lastTick) s.lastTick = st.lastTick;
    if (st.last) s.last = planToValue(st.last);
    return s;
  };

  const apply = async (obs: Level1Observation, plan: Level1Plan): Promise<void> => {
    const byName = new Map(obs.vms.map((v) => [v.name, v]));
    for (const d of plan.decisions) {
      const v = byName.get(d.vm);
      try {
        if (v?.shares !== d.shares || d.quotaUs !== undefined) {
          // The first change to a VM (or to this driver): ask libvirt what it has, so the adjustment
          // reads before -> after and the fields sent are the ones this driver's scheduler lists.
          let before = v?.shares;
          if (before === undefined || model === undefined) {
            const cur = await hv.getSchedulerParams(d.vm).catch(() => undefined);
            model ??= cur && schedulerModel(cur);
            if (before === undefined && cur && model) before = sharesOf(model, cur);
          }
          // Unknown (schedinfo refused or lists neither): the cgroup names, whose refusal then says why.
          const m = model ?? { kind: 'shares', quota: true };
          const params = schedulerParamsFor(m, d.shares, d.quotaUs, st.config.capPeriodUs, v?.vcpus ?? 1);
          await hv.setSchedulerParams(d.vm, params, { live: true }).catch((e: unknown) => {
            model = undefined;
            throw e;
          });
          st.shares.set(d.vm, d.shares);
          st.applied++;
          if (before !== d.shares) o.onAdjust?.({ vm: d.vm, what: 'shares', ...(before !== undefined ? { before } : {}), after: d.shares, reason: d.reason });
          // A cap is re-applied every tick (libvirt may have been told otherwise); only a new value is an adjustment.
          const q = st.quotas.get(d.vm);
          if (d.quotaUs !== undefined && q !== d.quotaUs && (m.kind === 'shares' ? m.quota : m.cap)) {
            st.quotas.set(d.vm, d.quotaUs);
            o.onAdjust?.({ vm: d.vm, what: 'quota', ...(q !== undefined ? { before: q } : {}), after: d.quotaUs, reason: d.reason });
          }
        }
        if (d.balloonKiB !== undefined && d.balloonKiB !== v?.memCurKiB) {
          await hv.setMemory(d.vm, d.balloonKiB, { live: true });
          st.applied++;
          o.onAdjust?.({ vm: d.vm, what: 'balloon', ...(v?.memCurKiB !== undefined ? { before: v.memCurKiB } : {}), after: d.balloonKiB, reason: d.reason });
        }
      } catch (e) {
        st.errors.push({ vm: d.vm, error: e instanceof Error ? e.message : String(e), at: new Date() });
        if (st.errors.length > 100) st.errors.splice(0, st.errors.length - 100);
      }
    }
  };

  registry.register({
    name: 'balancer.level1.status',
    help: 'Level-1 balancing on this node: whether it acts, its settings, the last decisions (CPU shares, entitled cores, balloon targets) and recent errors.',
    signature: [['struct']],
    handler: () => status(),
  });
  registry.register({
    name: 'balancer.level1.enable',
    help: 'Start acting: set CPU shares (and caps when caps=true) and balloon targets after each collection. Optional struct: pressureFree, guestFree, shrinkStep, relaxStep, memBudgetKiB (memory VMs may use on this node), headroom, floorShare, baseShares, caps, vms {name: {priority, minShares, maxShares, minMemKiB, maxMemKiB}}. Returns the status.',
    signature: [['struct'], ['struct', 'struct']],
    mutates: true,
    handler: (p) => {
      const parsed = parseLevel1Settings(p[0], { ...DEFAULT_LEVEL1, ...o.config });
      st.config = parsed.config;
      st.policies = parsed.policies;
      st.enabled = true;
      const s = status();
      o.onSwitch?.(true, { caps: st.config.caps, pressureFree: st.config.pressureFree, ...(st.config.memBudgetKiB !== undefined ? { memBudgetKiB: st.config.memBudgetKiB } : {}) });
      return s;
    },
  });
  registry.register({
    name: 'balancer.level1.disable',
    help: 'Stop acting; shares and balloons stay as they are. Returns the status.',
    signature: [['struct']],
    mutates: true,
    handler: () => {
      st.enabled = false;
      o.onSwitch?.(false, {});
      return status();
    },
  });
  registry.register({
    name: 'balancer.level1.dryRun',
    help: 'What level 1 would decide now from the latest collection, without changing anything: {contended, pressure, freeShare, decisions}.',
    signature: [['struct']],
    handler: () => planToValue(planLevel1(observe(), st.config)),
  });

  return {
    async tick() {
      if (!st.enabled || running || closed) return;
      running = true;
      try {
        const obs = observe();
        const plan = planLevel1(obs, st.config);
        st.last = plan;
        st.ticks++;
        st.lastTick = new Date();
        await apply(obs, plan);
      } finally {
        running = false;
      }
    },
    close() {
      closed = true;
      st.enabled = false;
    },
  };
}

/**
 * Builds level-1 observations straight from the hypervisor (CPU demand from
 * cpu-time deltas between two calls; memory from balloon statistics). The
 * agent may feed registerLevel1 from its own collectors instead.
 */
export function createLevel1Observer(hv: Hypervisor): { sample(): Promise<Level1Observation>; latest(): Level1Observation } {
  let prev: { at: number; cpu: Map<string, number> } | undefined;
  let latest: Level1Observation = { cores: 1, memTotalKiB: 0, memFreeKiB: 0, vms: [] };
  return {
    latest: () => latest,
    async sample() {
      const [host, node, stats] = await Promise.all([hv.hostInfo(), hv.nodeStats(), domainStats(hv)]);
      const now = Date.now();
      const cpu = new Map<string, number>();
      const vms = [];
      for (const s of stats) {
        if (s.state?.state !== 'running') continue;
        const t = s.cpu?.timeNs;
        if (t !== undefined) cpu.set(s.name, t);
        const before = prev?.cpu.get(s.name);
        const secs = prev ? (now - prev.at) / 1000 : 0;
        const demand = t !== undefined && before !== undefined && secs > 0 ? Math.max(0, (t - before) / 1e9 / secs) : 0;
        const b = s.balloon;
        const used = b?.availableKiB !== undefined && b.usableKiB !== undefined ? b.availableKiB - b.usableKiB
          : b?.unusedKiB !== undefined ? b.currentKiB - b.unusedKiB : undefined;
        vms.push({
          name: s.name, vcpus: s.vcpu?.current ?? 1, cpuDemand: demand,
          memMaxKiB: b?.maximumKiB ?? 0, memCurKiB: b?.currentKiB ?? 0, memUsedKiB: used,
        });
      }
      prev = { at: now, cpu };
      const m = node.memory;
      latest = { cores: host.node.cpus, memTotalKiB: m.totalKiB, memFreeKiB: m.freeKiB + m.buffersKiB + m.cachedKiB, vms };
      return latest;
    },
  };
}
