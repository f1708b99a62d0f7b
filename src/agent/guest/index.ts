/**
 * The node agent's guest.* methods: each call names a VM and is relayed to the
 * guest agent inside it over the VM's virtio-serial channel (the unix socket
 * named in the live domain XML). Connections are kept per VM and re-found from
 * the domain XML when they break (guest reboot, VM restart, migration back).
 * When our agent does not answer, qemu-guest-agent answers what it can; a
 * simulated hypervisor's VMs answer from their SimGuest, marked simulated.
 * An LXC container has no guest channel: its processes are read by the node
 * agent from the host's /proc (container-procs.ts), marked with that source.
 */
import { VemError } from '../../common/errors.js';
import { XmlRpcFault } from '../../common/xmlrpc/codec.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { fromJsonValue, isStruct, type XmlRpcValue } from '../../common/xmlrpc/value.js';
import type { Hypervisor } from '../../libvirt/hypervisor.js';
import { DEFAULT_LIMITS, GuestChannel, GuestMisbehavedError, NO_GUEST_AGENT, NoGuestAgentError, type ChannelLimits } from './channel.js';
import { findChannel, hasQemuAgentChannel } from './domain-xml.js';
import { QGA_METHODS, QGA_SOURCE } from './qga.js';
import { api } from '../../api/index.js';
import { HOST_PROC_AGENT, hostProcSource, VEM_GUEST_AGENT } from '../../api/guest.js';
import { ContainerProcessReader, type HostProcOptions } from './container-procs.js';
import { isLxcDomain } from './proc-parse.js';

export { GUEST_MISBEHAVED, GuestMisbehavedError, NO_GUEST_AGENT, NoGuestAgentError } from './channel.js';
export const DEFAULT_GUEST_CHANNEL = 'org.vemanager.guest.0';

export interface GuestRelayOptions {
  /** Per call (default 10 s; guest.processes samples CPU for 0.2 s on a first call). */
  timeoutMs?: number;
  channelName?: string;
  /** Maps the socket path libvirt reports to one this process can open (e.g. through /proc/PID/root when libvirtd runs in another mount namespace). */
  resolveChannelPath?: (path: string) => string;
  /** What a guest may get wrong before its channel is cut (default DEFAULT_LIMITS). */
  limits?: Partial<ChannelLimits>;
  /** How long a misbehaving guest's calls are refused (default 60 s; doubled for each repeat, at most 16x). */
  quarantineMs?: number;
  /** Told when a guest misbehaved (the agent's event log). */
  onMisbehave?: (vm: string, detail: { reason: string; quarantineMs: number; until: number }) => void;
  /** How an LXC container's processes are read from the host's /proc. */
  hostProc?: HostProcOptions;
}

interface Relayed {
  name: string;
  help: string;
  /** Guest-side signatures: [ret, ...params]; the relay adds the VM name first. */
  signature: string[][];
  mutates?: boolean;
}

/** The guest agent's methods as the node agent offers them. */
export const RELAYED: Relayed[] = [
  { name: 'guest.ping', help: 'Which agent answers in the VM: {agent, version, pid, hostname} or {agent: "qemu-guest-agent"}.', signature: [['struct']] },
  { name: 'guest.info', help: 'OS, kernel, hostname, uptime, load, CPUs and memory of the guest.', signature: [['struct']] },
  { name: 'guest.processes', help: 'Processes in the guest: pid, ppid, user, state, cpuPercent, rssKiB, startTime, command... Optional struct {intervalMs}. Of an LXC container, read from the host\'s /proc (source names the init pid).', signature: [['struct'], ['struct', 'struct']] },
  { name: 'guest.users', help: 'Accounts and groups in the guest, with admin rights and lock state.', signature: [['struct']] },
  { name: 'guest.sessions', help: 'Who is logged in to the guest.', signature: [['array']] },
  { name: 'guest.services', help: 'Services in the guest (systemd, OpenRC or init scripts).', signature: [['struct']] },
  { name: 'guest.filesystems', help: 'Mounted filesystems in the guest with sizes.', signature: [['array']] },
  { name: 'guest.interfaces', help: 'Network interfaces and addresses in the guest.', signature: [['array']] },
  { name: 'guest.policy', help: "The guest's own policy: which actions it allows.", signature: [['struct']] },
  { name: 'guest.signal', help: 'Signals a process in the guest: (vm, pid, signal name or number).', signature: [['struct', 'int', 'string'], ['struct', 'int', 'int']], mutates: true },
  { name: 'guest.userAdd', help: 'Adds a user in the guest: (vm, name[, {uid, shell, home, gecos, groups, password}]).', signature: [['struct', 'string'], ['struct', 'string', 'struct']], mutates: true },
  { name: 'guest.userRemove', help: 'Removes a user in the guest: (vm, name).', signature: [['struct', 'string']], mutates: true },
  { name: 'guest.userLock', help: "Locks a user's password in the guest: (vm, name).", signature: [['struct', 'string']], mutates: true },
  { name: 'guest.userUnlock', help: "Unlocks a user's password in the guest: (vm, name).", signature: [['struct', 'string']], mutates: true },
  { name: 'guest.userSetPassword', help: "Sets a user's password, hashed in the guest: (vm, name, password).", signature: [['struct', 'string', 'string']], mutates: true },
  { name: 'guest.serviceAction', help: 'start/stop/restart/enable/disable a service in the guest: (vm, service, action).', signature: [['struct', 'string', 'string']], mutates: true },
];

interface SimGuestLike {
  [method: string]: unknown;
}

/** The simulator's reason its guest agent is silent (no agent in that VM, or the VM is not running). */
function simGuestDown(hv: Hypervisor, vm: string): string | undefined {
  const f = (hv as unknown as { guestAgentDown?: (vm: string) => string | undefined }).guestAgentDown;
  return typeof f === 'function' ? f.call(hv, vm) : undefined;
}

function simGuestOf(hv: Hypervisor, vm: string): SimGuestLike | null {
  const g = (hv as unknown as { guest?: (vm: string) => unknown }).guest;
  if (typeof g !== 'function') return null;
  const r = g.call(hv, vm) as unknown;
  return typeof r === 'object' && r !== null ? (r as SimGuestLike) : null;
}

export function registerGuestMethods(registry: MethodRegistry, hv: Hypervisor, o: GuestRelayOptions = {}): { close(): Promise<void> } {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const channelName = o.channelName ?? DEFAULT_GUEST_CHANNEL;
  const channels = new Map<string, GuestChannel>();
  const connecting = new Map<string, Promise<GuestChannel>>();
  let closed = false;
  const limits: ChannelLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const baseQuarantine = o.quarantineMs ?? 60_000;
  const hostProcs = new ContainerProcessReader(o.hostProc);
  /** Guests cut off for misbehaving: their calls are refused until `until`. */
  const quarantine = new Map<string, { until: number; reason: string; strikes: number }>();

  function misbehaved(vm: string, reason: string): void {
    const strikes = (quarantine.get(vm)?.strikes ?? 0) + 1;
    const ms = baseQuarantine * Math.min(16, 2 ** (strikes - 1));
    const until = Date.now() + ms;
    quarantine.set(vm, { until, reason, strikes });
    o.onMisbehave?.(vm, { reason, quarantineMs: ms, until });
  }

  async function open(vm: string): Promise<GuestChannel> {
    const q = quarantine.get(vm);
    if (q && Date.now() < q.until) {
      throw new GuestMisbehavedError(`vm '${vm}': its guest misbehaved on the guest channel (it ${q.reason}); its guest calls are refused until ${new Date(q.until).toISOString()}`, 'see events.poll (source guest, kind misbehaved); restart the guest agent inside the VM');
    }
    const have = channels.get(vm);
    if (have?.isOpen) return have;
    const pending = connecting.get(vm);
    if (pending) return pending;
    const p = (async () => {
      channels.delete(vm);
      const xml = await hv.domainXml(vm);
      const ch = findChannel(xml, channelName);
      if (!ch) throw new NoGuestAgentError(`no guest agent in vm '${vm}': it has no running virtio channel '${channelName}'`, "add <channel type='unix'><source mode='bind'/><target type='virtio' name='org.vemanager.guest.0'/></channel> and run `vem guest-agent` in the guest");
      const path = o.resolveChannelPath ? o.resolveChannelPath(ch.path) : ch.path;
      const c = new GuestChannel(path, `vm '${vm}'`, limits, (reason) => misbehaved(vm, reason));
      await c.connect(Math.min(timeoutMs, 5000));
      if (closed) {
        c.close();
        throw new NoGuestAgentError('the node agent is closing');
      }
      channels.set(vm, c);
      return c;
    })();
    connecting.set(vm, p);
    try {
      return await p;
    } finally {
      connecting.delete(vm);
    }
  }

  async function viaChannel(vm: string, method: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    let ch = await open(vm);
    try {
      return await ch.call(method, params, timeoutMs);
    } catch (e) {
      // A channel that broke before this call (guest reboot, QEMU restarted, VM migrated back) is re-found once.
      if (e instanceof NoGuestAgentError && !ch.isOpen && !(e.message.includes('did not answer'))) {
        ch = await open(vm);
        return ch.call(method, params, timeoutMs);
      }
      throw e;
    }
  }

  async function qgaFallback(vm: string, method: string, why: Error): Promise<XmlRpcValue> {
    const f = QGA_METHODS[method];
    const xml = await hv.domainXml(vm).catch(() => '');
    if (!f || !hasQemuAgentChannel(xml)) throw why;
    try {
      return await f((cmd, t) => hv.guestAgentCommand(vm, cmd, t), Math.ceil(timeoutMs / 1000));
    } catch (e) {
      throw new NoGuestAgentError(`${why.message}; ${QGA_SOURCE} did not answer either: ${(e as Error).message}`);
    }
  }

  async function simulated(vm: string, method: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const down = simGuestDown(hv, vm);
    if (down) throw new NoGuestAgentError(down);
    const g = simGuestOf(hv, vm);
    if (!g) throw new NoGuestAgentError(`no guest agent in simulated vm '${vm}'`);
    const short = method.slice('guest.'.length);
    const fn = g[short];
    if (typeof fn !== 'function') throw new NoGuestAgentError(`the simulated guest of '${vm}' does not offer ${method}`);
    const r = fromJsonValue(await (fn as (...a: unknown[]) => unknown).apply(g, params));
    if (isStruct(r)) return { ...r, simulated: true };
    if (Array.isArray(r)) return r.map((x) => (isStruct(x) ? { ...x, simulated: true } : x));
    return r;
  }

  /** The live domain XML when the VM is an LXC container (no guest channel: answered from the host), else null. */
  async function lxcXml(vm: string): Promise<string | null> {
    const xml = await hv.domainXml(vm);
    return isLxcDomain(xml) ? xml : null;
  }

  async function fromHost(vm: string, method: string, xml: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    if (method !== api.guest.processes.name) {
      throw new NoGuestAgentError(`${method} of container '${vm}' needs an agent inside it, and an LXC container has no guest channel: only its processes are read, from the host's /proc`);
    }
    const opts = isStruct(params[0]) ? params[0] : {};
    const iv = opts['intervalMs'];
    const r = await hostProcs.processes(vm, xml, typeof iv === 'number' ? { intervalMs: iv } : {});
    return fromJsonValue(r);
  }

  for (const m of RELAYED) {
    registry.register({
      name: m.name,
      help: `${m.help} The first argument is the VM name.`,
      signature: m.signature.map(([ret, ...rest]) => [ret ?? 'struct', 'string', ...rest]),
      mutates: m.mutates,
      redact: (params) => redactGuestArgs(m.name, params),
      handler: async (params) => {
        const [vm, ...rest] = params;
        if (typeof vm !== 'string' || vm === '') throw new XmlRpcFault(-32602, `${m.name}: the first argument must be a VM name`);
        if (hv.simulated) return simulated(vm, m.name, rest);
        // A VM with an open guest channel is no container: no extra domain XML round trip on the hot path.
        const lxc = channels.get(vm)?.isOpen ? null : await lxcXml(vm);
        if (lxc !== null) return fromHost(vm, m.name, lxc, rest);
        try {
          const r = await viaChannel(vm, m.name, rest);
          // The source is ours to say: a guest cannot pass its list off as read from the host.
          return m.name === api.guest.processes.name && isStruct(r) ? { ...r, source: VEM_GUEST_AGENT } : r;
        } catch (e) {
          if (!(e instanceof NoGuestAgentError) || m.mutates) throw e;
          return qgaFallback(vm, m.name, e);
        }
      },
    });
  }

  registry.register({
    name: 'guest.status',
    help: 'Which guest agent answers in a VM: {vm, agent: "vem-guest-agent" | "qemu-guest-agent" | "simulated" | "none", detail}. Never a fault for a missing agent.',
    signature: [['struct', 'string']],
    handler: async (params): Promise<XmlRpcValue> => {
      const vm = params[0] as string;
      if (hv.simulated) {
        const down = simGuestDown(hv, vm);
        if (down) return { vm, agent: 'none', detail: down, code: NO_GUEST_AGENT, simulated: true };
        return { vm, agent: simGuestOf(hv, vm) ? 'simulated' : 'none', simulated: true };
      }
      const lxc = await lxcXml(vm).catch(() => null);
      if (lxc !== null) {
        try {
          const init = await hostProcs.findInit(vm, lxc);
          const source = hostProcSource(init.initPid);
          return { vm, agent: HOST_PROC_AGENT, detail: `LXC init pid ${init.initPid}; users, services and the system view need an agent inside it`, source };
        } catch (e) {
          return { vm, agent: 'none', detail: (e as Error).message, code: NO_GUEST_AGENT };
        }
      }
      try {
        const r = await viaChannel(vm, 'guest.ping', []);
        return { vm, agent: VEM_GUEST_AGENT, detail: r, channel: channels.get(vm)?.path ?? '' };
      } catch (e) {
        if (!(e instanceof NoGuestAgentError)) {
          if (e instanceof GuestMisbehavedError) return { vm, agent: 'none', detail: e.message, code: e.code };
          if (e instanceof VemError && !(e instanceof XmlRpcFault)) return { vm, agent: 'none', detail: e.message };
          throw e;
        }
        try {
          await qgaFallback(vm, 'guest.ping', e);
          return { vm, agent: QGA_SOURCE, detail: e.message };
        } catch (e2) {
          return { vm, agent: 'none', detail: (e2 as Error).message, code: NO_GUEST_AGENT };
        }
      }
    },
  });

  return {
    async close() {
      closed = true;
      for (const c of channels.values()) c.close();
      channels.clear();
    },
  };
}

/**
 * The arguments of a guest.* call as an audit log may record them: passwords
 * replaced by "[redacted]". The node agent's audit hook should pass args through this.
 */
export function redactGuestArgs(method: string, params: XmlRpcValue[]): XmlRpcValue[] {
  if (method === 'guest.userSetPassword') return params.map((p, i) => (i === 2 ? '[redacted]' : p));
  if (method === 'guest.userAdd') return params.map((p, i) => (i === 2 && isStruct(p) && 'password' in p ? { ...p, password: '[redacted]' } : p));
  return params;
}
