/**
 * The node agent: XML-RPC over libvirt with live metrics, jobs, events and
 * safe defaults (unix socket 0600 or loopback; TLS + token required elsewhere).
 */
import { api, declared } from '../api/index.js';
import { VemError } from '../common/errors.js';
import { MethodRegistry } from '../common/xmlrpc/registry.js';
import { startXmlRpcServer, type RunningXmlRpcServer } from '../common/xmlrpc/server.js';
import type { Hypervisor, Unsubscribe } from '../libvirt/hypervisor.js';
import { AuditLog } from './audit.js';
import { Collector } from './collector.js';
import { handleConsoleUpgrade, type ConsoleSession } from './console.js';
import type { AgentCore } from './core.js';
import { DomainCache } from './domains.js';
import { EventLog } from './events.js';
import { DEFAULT_HISTORY_FILE_MAX_BYTES, loadHistoryFile, saveHistoryFile, snapshotCollector } from './history-file.js';
import { JobManager } from './jobs.js';
import { adoptRunningJobs, loadRunningJobs, saveRunningJobs } from './job-adopt.js';
import { HypervisorLink } from './link.js';
import { renderMetrics } from './metrics.js';
import { registerNodeMethods } from './methods/node.js';
import { registerSnapshotMethods } from './methods/snapshot.js';
import { registerStorageMethods } from './methods/storage.js';
import { registerNetworkMethods } from './methods/network.js';
import { registerVmMethods } from './methods/vm.js';
import { registerCloneMethods } from './methods/clone.js';
import { registerWatchMethods } from './methods/watch.js';
import { registerEventMethods } from './methods/events.js';
import { registerLeaseMethods } from './methods/lease.js';
import { registerTemplateMethods } from './methods/template.js';
import { guardChange } from './lease.js';
import { loadPlugins, type Plugins } from './plugins.js';
import type { GuestRelayOptions } from './guest/index.js';

export const DEFAULT_SOCKET = '/run/vem/agent.sock';

const LISTEN_CODES: Record<string, [string, string]> = {
  EADDRINUSE: ['address already in use', 'is another agent (or another program) on it? pick another port with --listen'],
  EACCES: ['permission denied', 'ports below 1024 need root; pick another with --listen'],
  EADDRNOTAVAIL: ['no such address on this host', 'listen on 127.0.0.1 or an address of this host'],
};

/** A failure to listen as one line naming the address (Node's own is a stack trace). */
function listenError(e: unknown, o: AgentOptions): unknown {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  const known = typeof err?.code === 'string' ? LISTEN_CODES[err.code] : undefined;
  if (!known || err.syscall !== 'listen') return e;
  const where = err.address !== undefined ? (err.port !== undefined && err.port > 0 ? `${err.address}:${err.port}` : err.address) : (o.listen ?? o.socket ?? DEFAULT_SOCKET);
  return new VemError(`vem agent: cannot listen on ${where}: ${known[0]}`, known[1]);
}

export interface AgentOptions {
  hypervisor: Hypervisor | (() => Promise<Hypervisor>);
  /** 127.0.0.1:PORT (port 0 = pick one). */
  listen?: string;
  /** Unix socket path; the default when neither listen nor socket is given: /run/vem/agent.sock. */
  socket?: string;
  token?: string;
  tls?: { cert: string; key: string };
  readOnly?: boolean;
  auditLog?: string;
  /** fdatasync each audit record (power-loss safe; a disk flush per change). */
  auditDurable?: boolean;
  pollMs?: number;
  historySeconds?: number;
  /** Keep the metrics history across restarts in this file (loaded at start, saved periodically and at close). */
  historyFile?: string;
  /** How often the history file is rewritten (default 60 s). */
  historySaveMs?: number;
  historyFileMaxBytes?: number;
  /** Timeout of each libvirt call (a hung daemon must not hang the agent). */
  callTimeoutMs?: number;
  maxBodyBytes?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Reconnect backoff bounds when libvirt goes away. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Load the guest.* and balancer.level1.* modules when present (default true). */
  plugins?: boolean;
  /** Keep the running migrations here so a restarted agent adopts them under their ids (default: the audit log's path + ".jobs"). */
  jobsFile?: string;
  /** Options of the guest.* relay (timeouts, limits on what a guest may send, quarantine). */
  guest?: GuestRelayOptions;
}

export interface RunningAgent {
  url: string;
  socketPath?: string;
  registry: MethodRegistry;
  /** The agent's state, for tests and the benchmark. */
  core: AgentCore;
  /** Runs one collection now (tests; the timer keeps running). */
  collectNow(): Promise<void>;
  close(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const pollMs = o.pollMs ?? 1000;
  const historySeconds = o.historySeconds ?? 3600;
  // Only methods declared in src/api can be registered; their introspection comes from the declaration.
  const registry = new MethodRegistry({ declared: (name) => declared.get(name) });
  const events = new EventLog();
  const collector = new Collector({ pollMs, historySeconds });
  const domains = new DomainCache();
  const jobs = new JobManager(events);
  jobs.onVmLeft = (vm) => {
    collector.forget(vm);
    domains.markDirty(vm);
  };
  if (o.historyFile) {
    const r = loadHistoryFile(o.historyFile, collector);
    if (r.ok) events.push('history', 'loaded', undefined, { file: o.historyFile, samples: r.samples, vms: r.vms, savedAt: r.savedAt });
    else if (!r.missing) {
      events.push('history', r.setAside ? 'set-aside' : 'unreadable', undefined, { file: o.historyFile, message: r.message });
      process.stderr.write(`vem agent: ${r.message}\n`);
    }
  }
  let saving: Promise<void> | undefined;
  const saveHistory = (): Promise<void> => {
    const file = o.historyFile;
    if (!file) return Promise.resolve();
    // A save that comes due while the last still runs is dropped.
    saving ??= saveHistoryFile(file, snapshotCollector(collector, pollMs, o.historyFileMaxBytes ?? DEFAULT_HISTORY_FILE_MAX_BYTES))
      .then(
        () => undefined,
        (e: unknown) => {
          events.push('history', 'save-failed', undefined, { file, message: e instanceof Error ? e.message : String(e) });
        },
      )
      .finally(() => {
        saving = undefined;
      });
    return saving;
  };
  const jobsFile = o.jobsFile ?? (o.auditLog ? `${o.auditLog}.jobs` : undefined);
  const saved = jobsFile ? loadRunningJobs(jobsFile) : { jobs: [] };
  if (saved.message) {
    events.push('job', 'file-unreadable', undefined, { message: saved.message });
    process.stderr.write(`vem agent: ${saved.message}\n`);
  }
  if (jobsFile) {
    jobs.onChange = () => {
      try {
        saveRunningJobs(jobsFile, jobs.list());
      } catch (e) {
        events.push('job', 'file-save-failed', undefined, { file: jobsFile, message: e instanceof Error ? e.message : String(e) });
      }
    };
  }
  // Once per process, when libvirt is first up and the audit log is open: take over the migrations a previous agent started.
  let adoptable = false;
  let adopting: Promise<void> | undefined;
  const adopt = (hv: Hypervisor): Promise<void> => {
    if (!adoptable) return Promise.resolve();
    adopting ??= adoptRunningJobs(hv, jobs, saved.jobs).then(
      (r) => {
        if (r.adopted.length + r.settled.length > 0) events.push('job', 'recovered', undefined, { adopted: r.adopted.map((j) => j.id).join(' '), settled: r.settled.map((j) => j.id).join(' ') });
      },
      (e: unknown) => {
        adopting = undefined; // libvirt went away during it: the next up tries again
        events.push('job', 'adopt-failed', undefined, { message: e instanceof Error ? e.message : String(e) });
      },
    );
    return adopting;
  };
  let unsubscribe: Unsubscribe | undefined;
  let plugins: Plugins | undefined;

  const link = new HypervisorLink(o.hypervisor, {
    callTimeoutMs: o.callTimeoutMs,
    minBackoffMs: o.minBackoffMs,
    maxBackoffMs: o.maxBackoffMs,
    onUp: async (hv) => {
      core.host = await hv.hostInfo();
      collector.hostCpus = core.host.node.cpus;
      unsubscribe?.();
      unsubscribe = await hv.onDomainEvent((e) => {
        const detail: Record<string, string | number> = { uuid: e.domain.uuid, id: e.domain.id, at: e.at };
        if (e.event !== undefined) detail.event = e.event;
        if (e.detail !== undefined) detail.detail = e.detail;
        if (e.actualKiB !== undefined) detail.actualKiB = e.actualKiB;
        if (e.device !== undefined) detail.device = e.device;
        events.push('domain', e.kind, e.domain.name, detail);
        if (e.kind !== 'balloon-change') domains.markDirty(e.domain.name);
      });
      events.push('libvirt', 'up', undefined, { uri: hv.uri });
      void adopt(hv);
    },
    onDown: (reason) => {
      unsubscribe = undefined; // the connection and its subscription are gone
      events.push('libvirt', 'down', undefined, { reason });
    },
  });

  const core: AgentCore = {
    link,
    collector,
    domains,
    events,
    jobs,
    startedAt: Date.now(),
    pollMs,
    historySeconds,
    readOnly: o.readOnly === true,
    hv: () => link.get(),
  };

  await link.start();

  const collectNow = async (): Promise<void> => {
    link.check();
    if (!link.status().up) return;
    const hv = link.get();
    try {
      if (!(await collector.collect(hv))) return;
    } catch (e) {
      link.noteError(e);
      return;
    }
    domains.noticeNames(collector.vms.keys());
    domains.pump(hv);
    await plugins?.afterCollect();
  };

  registerNodeMethods(registry, core);
  registerVmMethods(registry, core);
  registerCloneMethods(registry, core);
  registerEventMethods(registry, core, registerWatchMethods(registry, core));
  registerSnapshotMethods(registry, core);
  registerStorageMethods(registry, core);
  registerNetworkMethods(registry, core);
  registerLeaseMethods(registry, core);
  registerTemplateMethods(registry, core);
  if (o.plugins !== false) plugins = loadPlugins(registry, core, o.guest);

  const audit = o.auditLog
    ? new AuditLog(o.auditLog, {
        durable: o.auditDurable,
        onNotice: (kind, message) => {
          events.push('audit', kind, undefined, { message });
          process.stderr.write(`vem agent: ${message}\n`);
        },
      })
    : undefined;
  /** Consoles opened through this agent, by VM: who holds one, and whether it has ended. */
  const consoleSessions = new Map<string, ConsoleSession>();
  // Write-ahead: the intent is on disk before the handler runs (or the change is refused),
  // the outcome before the reply is sent.
  // A change that would fight another's running migration or clone is refused first (its refusal is still audited).
  registry.beforeChange = (r) => {
    guardChange(r.method, r.params, jobs.list());
    return audit?.intent(r.ctx.caller, r.method, r.params);
  };
  registry.onCall = (rec) => {
    if (!audit || !registry.mutates(rec.method)) return;
    audit.write({ id: rec.intent, caller: rec.ctx.caller, method: rec.method, args: rec.params, ok: rec.ok, result: rec.result, fault: rec.fault, ms: rec.ms });
  };

  // A job's end is a change of the system made by the agent: its record closes the vm.migrate/vm.clone record.
  jobs.onEnd = (j) =>
    audit?.write({ caller: j.caller, method: `job:${j.kind}`, args: [j.id, j.vm, j.dest, j.adopted ? 'adopted after a restart' : 'started here'], ok: j.status === 'completed', result: { status: j.status }, fault: j.status === 'completed' ? undefined : { code: 0, message: `${j.status}: ${j.reason ?? ''}` } });
  adoptable = true;
  if (link.status().up) await adopt(link.get());

  await collectNow();
  const timer = setInterval(() => void collectNow(), pollMs);
  const historyTimer = o.historyFile ? setInterval(() => void saveHistory(), o.historySaveMs ?? 60_000) : undefined;
  historyTimer?.unref();

  let server: RunningXmlRpcServer;
  try {
    server = await startXmlRpcServer({
      registry,
      listen: o.listen,
      socket: o.socket ?? (o.listen ? undefined : DEFAULT_SOCKET),
      token: o.token,
      tls: o.tls,
      readOnly: o.readOnly,
      maxBodyBytes: o.maxBodyBytes,
      headersTimeoutMs: o.headersTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      // vm.list and node.stats change only when a collection lands (or the VM cache changes):
      // concurrent callers within one period share one encoded answer.
      cacheKey: (method, params) => {
        if (method !== api.vm.list.name && method !== api.node.stats.name && method !== api.vm.watch.name) return undefined;
        return `${method}|${collector.tick}|${domains.version}|${link.status().up}|${JSON.stringify(params)}`;
      },
      routes: {
        request: (req, res) => {
          if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') return false;
          const body = renderMetrics({ collector, libvirtUp: link.status().up, hostCpus: collector.hostCpus, info: (vm) => domains.entries.get(vm)?.info });
          res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
          return true;
        },
        upgrade: (req, socket, head, caller) =>
          handleConsoleUpgrade(
            {
              hv: () => link.get(),
              readOnly: core.readOnly,
              sessions: consoleSessions,
              audit: (who, vm, ok, message) => audit?.write({ caller: who, method: 'console.open', args: [vm], ok, result: ok ? true : null, fault: ok ? undefined : { code: 0, message: message ?? '' } }),
            },
            req,
            socket,
            head,
            caller,
          ),
      },
    });
  } catch (e) {
    clearInterval(timer);
    clearInterval(historyTimer);
    await plugins?.close();
    jobs.close();
    await link.close();
    await audit?.close();
    throw listenError(e, o);
  }

  return {
    url: server.url,
    socketPath: server.socketPath,
    registry,
    core,
    collectNow,
    close: async () => {
      clearInterval(timer);
      clearInterval(historyTimer);
      await saving;
      await saveHistory();
      events.wakeAll();
      await server.close();
      await plugins?.close();
      jobs.close();
      unsubscribe?.();
      await link.close();
      await audit?.close();
    },
  };
}
