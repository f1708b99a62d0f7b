/** node.*, vm.migrate + job.*, events.poll. */
import { capabilitiesOf } from '../../libvirt/capabilities.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { fromJsonValue, type XmlRpcStruct } from '../../common/xmlrpc/value.js';
import type { MigrateOptions } from '../../libvirt/hypervisor.js';
import { NODE_FIELDS } from '../history.js';
import { eventToValue } from '../events.js';
import { jobToValue } from '../jobs.js';
import { badArg, notFound, num, opts, optBool, optNum, optStr, str, withOptional, type AgentCore } from '../core.js';

export const AGENT_VERSION = '0.1.0';

export function registerNodeMethods(r: MethodRegistry, core: AgentCore): void {
  r.register({
    name: 'node.info',
    help:
      'This node: hostname, uri, driver (QEMU, Test, Xen, LXC, Simulated...), hypervisorVersion, libvirtVersion, simulated, node {model, memoryKiB, cpus, mhz, numaNodes, sockets, cores, threads}, ' +
      'libvirt {up, since, reason, attempts, nextRetryAt} (the agent stays up while libvirtd is away and reconnects with backoff), ' +
      'capacity {vmsTotal, vmsRunning, vcpusAllocated, memAllocatedKiB, memTotalKiB, memFreeKiB, cpuPct} from the last collection, and agent {version, startedAt, pollMs, historySeconds, readOnly, ' +
      'collections, dropped, errors, lastCollectMs, vms, historyBytes}. Host facts are the last ones seen while libvirt is down. ' +
      'Fault codes: libvirt\'s own error code (e.g. 42 no such domain), 1001 libvirt unreachable, 1002 libvirt call timed out, 1003 not found, 1004 bad argument, -32601/-32602 unknown method/bad arguments.',
    signature: [['struct']],
    handler: async () => {
      const link = core.link.status();
      if (link.up) {
        try {
          core.host = await core.hv().hostInfo();
        } catch {
          /* reported through libvirt.up below */
        }
      }
      const st = core.link.status();
      const libvirt: XmlRpcStruct = { up: st.up, since: st.since, attempts: st.attempts };
      if (st.reason !== undefined) libvirt.reason = st.reason;
      if (st.nextRetryAt !== undefined) libvirt.nextRetryAt = st.nextRetryAt;
      const c = core.collector;
      const v: XmlRpcStruct = {
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
        },
      };
      if (c.lastError !== undefined) (v.agent as XmlRpcStruct).lastError = c.lastError;
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
      const cap: XmlRpcStruct = { vmsTotal: c.vms.size, vmsRunning: running, vcpusAllocated: vcpus, memAllocatedKiB: memKiB };
      if (c.lastNode) {
        cap.memTotalKiB = c.lastNode.memory.totalKiB;
        cap.memFreeKiB = c.lastNode.memory.freeKiB;
      }
      const ns = c.node.latest();
      if (ns) cap.cpuPct = Math.round(ns.cpuPct * 100) / 100;
      v.capacity = cap;
      if (core.host) Object.assign(v, fromJsonValue(core.host) as XmlRpcStruct);
      if (link.up) v.capabilities = fromJsonValue(capabilitiesOf(core.hv())) as XmlRpcStruct;
      return v;
    },
  });

  r.register({
    name: 'node.stats',
    help:
      'The node\'s history after a cursor: node.stats(cursor[, limit]); cursor 0 = the whole window. Result: {cursor, intervalMs, t: [ms since the epoch], cpuPct, iowaitPct, memUsedKiB, memTotalKiB, ' +
      'vmsRunning, vmCpuPct (sum of the VMs\' cpuPct), collectMs: [...]} plus latest {cpu {kernelNs, userNs, idleNs, iowaitNs}, memory {totalKiB, freeKiB, buffersKiB, cachedKiB}} (cumulative counters as <double>).',
    signature: [['struct', 'int'], ['struct', 'int', 'int']],
    handler: (p) => {
      const c = core.collector;
      const { ticks, cols } = c.node.columnsAfter(num(p, 0), p[1] === undefined ? undefined : num(p, 1));
      const out: XmlRpcStruct = {
        cursor: ticks.length > 0 ? (ticks[ticks.length - 1] as number) : Math.min(Math.max(num(p, 0), 0), c.tick),
        intervalMs: core.pollMs,
        t: ticks.map((k) => c.clock.timeOf(k) || 0),
      };
      for (const f of NODE_FIELDS) out[f] = cols[f];
      if (c.lastNode) out.latest = fromJsonValue(c.lastNode);
      return out;
    },
  });

  r.register({
    name: 'vm.migrate',
    help:
      'Starts a peer-to-peer live migration of a VM to another node\'s libvirt URI (e.g. qemu+tcp://127.0.0.3/system): vm.migrate(name, destUri[, options]) -> job id. ' +
      'Options: live (default true), persistOnTarget (default true), undefineSource (default true), copyStorage (default false), bandwidthMiBs, migrateUri, maxDowntimeMs. ' +
      'Follow it with job.get(id); job.cancel(id) aborts it. A failed or cancelled migration leaves the VM running here, and the job says why.',
    signature: withOptional('string', ['string', 'string']),
    mutates: true,
    handler: (p, ctx) => {
      const o = opts(p, 2);
      const mo: MigrateOptions = {
        live: optBool(o, 'live') ?? true,
        persistOnTarget: optBool(o, 'persistOnTarget') ?? true,
        undefineSource: optBool(o, 'undefineSource') ?? true,
        copyStorage: optBool(o, 'copyStorage') ?? false,
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
      return core.jobs.startMigration(core.hv(), str(p, 0), dest, mo, ctx.caller).id;
    },
  });

  r.register({
    name: 'job.get',
    help:
      'A job\'s state: {id, kind, vm, dest, status: running|completed|failed|cancelled, reason (when failed or cancelled), vmStateOnSource, startedAt, endedAt, elapsedMs, ' +
      'progress {type, dataTotal, dataProcessed, dataRemaining, memTotal, memProcessed, memRemaining, memIteration, memDirtyRate, memBps, expectedDowntimeMs, timeElapsedMs, timeRemainingMs, percent}}. Bytes as <double>.',
    signature: [['struct', 'string']],
    handler: async (p) => {
      const j = await core.jobs.getFresh(core.link.status().up ? core.hv() : undefined, str(p, 0));
      if (!j) throw notFound(`no job '${str(p, 0)}' (jobs are kept until the agent restarts, the last 200 finished ones)`);
      return jobToValue(j);
    },
  });

  r.register({
    name: 'job.cancel',
    help: 'Aborts a running job (libvirt abortJob); the job then ends as cancelled and the VM stays on this node: job.cancel(id) -> the job struct as in job.get.',
    signature: [['struct', 'string']],
    mutates: true,
    handler: async (p) => {
      const j = await core.jobs.cancel(core.hv(), str(p, 0));
      if (!j) throw notFound(`no job '${str(p, 0)}'`);
      return jobToValue(j);
    },
  });

  r.register({
    name: 'jobs.list',
    help: 'Every job this agent knows (running and the last finished ones), as in job.get.',
    signature: [['array']],
    handler: () => core.jobs.list().map(jobToValue),
  });

  r.register({
    name: 'events.poll',
    help:
      'Long-poll for events after a cursor: events.poll(cursor, timeoutMs) -> {cursor, events: [{seq, at, source, kind, vm, detail}], missed, agentStart}. ' +
      'Returns at once when there are events, else waits up to timeoutMs (at most 60000). source: domain (libvirt event; kind lifecycle, reboot, job-completed, balloon-change, device-added, device-removed), ' +
      'vm (a change made through this agent), job (started, completed, failed, cancelled), libvirt (up, down). missed = older events were dropped; agentStart changes when the agent restarted (start again from cursor 0).',
    signature: [['struct', 'int', 'int']],
    handler: async (p) => {
      const timeout = Math.min(Math.max(num(p, 1), 0), 60_000);
      const r2 = await core.events.poll(Math.max(0, num(p, 0)), timeout);
      return { cursor: r2.cursor, events: r2.events.map(eventToValue), missed: r2.missed, agentStart: core.startedAt };
    },
  });
}
