/** The guest agent's XML-RPC methods (the same table serves the virtio port and --listen). */
import { MethodRegistry, type CallContext } from '../common/xmlrpc/registry.js';
import { fromJsonValue, isStruct, type XmlRpcValue } from '../common/xmlrpc/value.js';
import { VemError } from '../common/errors.js';
import type { GuestHost } from './host.js';
import { check, parsePolicy, READ_ONLY, type Action, type GuestPolicy, ACTIONS } from './policy.js';
import { accounts, filesystems, interfaces, ProcessSampler, sessions, systemInfo } from './reports.js';
import { listServices, serviceAction, SERVICE_ACTIONS, type ServiceAction } from './services.js';
import { userAdd, userLock, userRemove, userSetPassword } from './users.js';
import { parsePidStatus } from './parse/proc.js';
import { parsePasswd } from './parse/accounts.js';

export const GUEST_AGENT_VERSION = '0.1.0';
export const DEFAULT_POLICY_PATH = '/etc/vem/guest-policy.json';
export const DEFAULT_LOG_PATH = '/var/log/vem-guest.log';

export interface GuestMethodsOptions {
  host: GuestHost;
  policyPath?: string;
  logPath?: string;
}

const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT'] as const;

function str(v: XmlRpcValue | undefined, what: string): string {
  if (typeof v !== 'string' || v === '') throw new VemError(`${what} must be a non-empty string`);
  return v;
}

function optStruct(v: XmlRpcValue | undefined): Record<string, XmlRpcValue> {
  return isStruct(v) ? v : {};
}

export function buildGuestRegistry(o: GuestMethodsOptions): MethodRegistry {
  const { host } = o;
  const policyPath = o.policyPath ?? DEFAULT_POLICY_PATH;
  const logPath = o.logPath ?? DEFAULT_LOG_PATH;
  const sampler = new ProcessSampler(host);
  const reg = new MethodRegistry();

  async function policy(): Promise<GuestPolicy> {
    let text: string;
    try {
      text = await host.readText(policyPath);
    } catch {
      return { ...READ_ONLY, source: `${policyPath} (absent: read-only)` };
    }
    return parsePolicy(text, policyPath);
  }

  async function log(entry: Record<string, unknown>): Promise<void> {
    await host.appendText(logPath, JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
  }

  /** Policy check, then the action, with a log line before (must succeed) and after. Details never hold a password. */
  async function act<T extends XmlRpcValue>(action: Action, target: string, details: Record<string, unknown>, ctx: CallContext, fn: () => Promise<T>): Promise<T> {
    const p = await policy();
    try {
      check(p, action);
    } catch (e) {
      await log({ action, target, ...details, caller: ctx.caller, result: 'refused', reason: (e as Error).message }).catch(() => undefined);
      throw e;
    }
    try {
      await log({ action, target, ...details, caller: ctx.caller, result: 'started' });
    } catch (e) {
      throw new VemError(`refusing ${action}: cannot write the guest's action log ${logPath}: ${(e as Error).message}`);
    }
    try {
      const r = await fn();
      await log({ action, target, caller: ctx.caller, result: 'ok' }).catch(() => undefined);
      return r;
    } catch (e) {
      await log({ action, target, caller: ctx.caller, result: 'failed', error: (e as Error).message }).catch(() => undefined);
      throw e;
    }
  }

  const read = (name: string, help: string, sig: string[][], handler: (p: XmlRpcValue[], ctx: CallContext) => Promise<XmlRpcValue>): void =>
    reg.register({ name, help, signature: sig, handler });
  const write = (name: string, help: string, sig: string[][], handler: (p: XmlRpcValue[], ctx: CallContext) => Promise<XmlRpcValue>): void =>
    reg.register({ name, help, signature: sig, handler, mutates: true });

  read('guest.ping', 'Whether the guest agent answers: {agent, version, pid, hostname}.', [['struct']], async () => ({
    agent: 'vem-guest-agent',
    version: GUEST_AGENT_VERSION,
    pid: host.ownPid(),
    hostname: host.hostname(),
  }));
  read('guest.info', 'OS, kernel, hostname, uptime, load, CPUs and memory of the guest.', [['struct']], async () => fromJsonValue(await systemInfo(host, GUEST_AGENT_VERSION)));
  read(
    'guest.processes',
    'Every process: pid, ppid, user, uid, state, cpuPercent (since the previous call, or over intervalMs), rssKiB, threads, nice, startTime, name, command; plus count, cpuIntervalMs and sampleMs (time spent reading /proc). Optional struct {intervalMs}.',
    [['struct'], ['struct', 'struct']],
    async (p) => {
      const iv = optStruct(p[0])['intervalMs'];
      const r = await sampler.processes(typeof iv === 'number' ? { intervalMs: iv } : {});
      return { count: r.processes.length, cpuIntervalMs: r.cpuIntervalMs, sampleMs: r.sampleMs, processes: r.processes as unknown as XmlRpcValue[] };
    },
  );
  read('guest.users', 'Accounts {users: [{name, uid, gid, gecos, home, shell, groups, admin, adminVia, password, loggedIn, system}], groups: [{name, gid, members}]}.', [['struct']], async () =>
    fromJsonValue(await accounts(host)),
  );
  read('guest.sessions', 'Who is logged in (utmp): [{user, line, host, pid, loginTime}].', [['array']], async () => fromJsonValue(await sessions(host)) as XmlRpcValue[]);
  read('guest.services', 'Services from systemd, OpenRC or /etc/init.d: {init, services: [{name, state, enabled, description}]}.', [['struct']], async () =>
    fromJsonValue(await listServices(host)),
  );
  read('guest.filesystems', 'Mounted filesystems with sizes (statfs), pseudo filesystems left out.', [['array']], async () => fromJsonValue(await filesystems(host)) as XmlRpcValue[]);
  read('guest.interfaces', 'Network interfaces: name, mac, mtu, state, rx/tx bytes, addresses.', [['array']], async () => fromJsonValue(await interfaces(host)) as XmlRpcValue[]);
  read('guest.policy', `The guest's policy: {allow, protectedUsers, source, error?, actions (every action name)}.`, [['struct']], async () =>
    fromJsonValue({ ...(await policy()), actions: [...ACTIONS] }),
  );

  write('guest.signal', `Sends a signal (${SIGNALS.join(', ')} or a number) to a process. Policy action: signal.`, [['struct', 'int', 'string'], ['struct', 'int', 'int']], async (p, ctx) => {
    const pid = p[0] as number;
    const raw = p[1] as string | number;
    // kill(1) takes TERM, SIGTERM and term alike; so do we.
    const sig = typeof raw === 'string' ? `SIG${raw.toUpperCase().replace(/^SIG/, '')}` : raw;
    if (typeof sig === 'string' && !(SIGNALS as readonly string[]).includes(sig)) throw new VemError(`unknown signal '${raw}'`, `one of ${SIGNALS.join(', ')}`);
    if (typeof sig === 'number' && (sig < 0 || sig > 64)) throw new VemError(`bad signal number ${sig}`);
    return act('signal', String(pid), { signal: sig }, ctx, async () => {
      if (pid <= 1 || pid === host.ownPid()) throw new VemError(`refusing to signal pid ${pid} (init, process groups and the agent itself are off limits)`);
      let uid: number | undefined;
      try {
        uid = parsePidStatus(await host.readText(`/proc/${pid}/status`)).uids[1];
      } catch {
        throw new VemError(`no process ${pid} in this guest`);
      }
      const pol = await policy();
      if (pol.signalUsers) {
        const name = parsePasswd(await host.readText('/etc/passwd')).find((u) => u.uid === uid)?.name ?? String(uid);
        if (!pol.signalUsers.includes(name)) throw new VemError(`refused by the guest's policy: processes of ${name} may not be signalled`);
      }
      host.kill(pid, sig as NodeJS.Signals | number);
      return { pid, signal: sig, sent: true };
    });
  });
  write(
    'guest.userAdd',
    'Adds a user. Optional struct {uid, shell, home, gecos, groups: [..], password}. The password is hashed in the guest and never logged. Policy action: user.add.',
    [['struct', 'string'], ['struct', 'string', 'struct']],
    async (p, ctx) => {
      const name = str(p[0], 'user name');
      const s = optStruct(p[1]);
      const groups = Array.isArray(s['groups']) ? s['groups'].filter((g): g is string => typeof g === 'string') : undefined;
      const spec = {
        name,
        uid: typeof s['uid'] === 'number' ? s['uid'] : undefined,
        shell: typeof s['shell'] === 'string' ? s['shell'] : undefined,
        home: typeof s['home'] === 'string' ? s['home'] : undefined,
        gecos: typeof s['gecos'] === 'string' ? s['gecos'] : undefined,
        groups,
        password: typeof s['password'] === 'string' ? s['password'] : undefined,
      };
      return act('user.add', name, { uid: spec.uid, groups, withPassword: spec.password !== undefined }, ctx, async () => fromJsonValue({ user: name, ...(await userAdd(host, spec)) }));
    },
  );
  write('guest.userRemove', 'Removes a user (its home is kept). Policy action: user.remove.', [['struct', 'string']], async (p, ctx) => {
    const name = str(p[0], 'user name');
    return act('user.remove', name, {}, ctx, async () => fromJsonValue({ user: name, ...(await userRemove(host, name, (await policy()).protectedUsers)) }));
  });
  write('guest.userLock', 'Locks a user\'s password. Policy action: user.lock.', [['struct', 'string']], async (p, ctx) => {
    const name = str(p[0], 'user name');
    return act('user.lock', name, {}, ctx, async () => fromJsonValue({ user: name, locked: true, ...(await userLock(host, name, true, (await policy()).protectedUsers)) }));
  });
  write('guest.userUnlock', 'Unlocks a user\'s password. Policy action: user.unlock.', [['struct', 'string']], async (p, ctx) => {
    const name = str(p[0], 'user name');
    return act('user.unlock', name, {}, ctx, async () => fromJsonValue({ user: name, locked: false, ...(await userLock(host, name, false, (await policy()).protectedUsers)) }));
  });
  write('guest.userSetPassword', 'Sets a user\'s password, hashed in the guest (never logged). Policy action: user.setPassword.', [['struct', 'string', 'string']], async (p, ctx) => {
    const name = str(p[0], 'user name');
    const pw = p[1] as string;
    return act('user.setPassword', name, {}, ctx, async () => fromJsonValue({ user: name, ...(await userSetPassword(host, name, pw, (await policy()).protectedUsers)) }));
  });
  write('guest.serviceAction', `Runs ${SERVICE_ACTIONS.join('/')} on a service. Policy action: service.<action>.`, [['struct', 'string', 'string']], async (p, ctx) => {
    const name = str(p[0], 'service name');
    const action = p[1] as string;
    if (!(SERVICE_ACTIONS as readonly string[]).includes(action)) throw new VemError(`unknown service action '${action}'`, `one of ${SERVICE_ACTIONS.join(', ')}`);
    return act(`service.${action}` as Action, name, {}, ctx, async () => fromJsonValue({ service: name, action, ...(await serviceAction(host, name, action as ServiceAction)) }));
  });
  return reg;
}
