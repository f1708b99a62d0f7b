/** guest.*: calls relayed to the agent inside a VM (the first argument names the VM); every answer is the guest's, treated as hostile. */
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { method } from './method.js';
import { array, int, opt, string, union } from './schema.js';
import { guestActionResult, guestFilesystem, guestInfo, guestInterface, guestPing, guestPolicy, guestProcesses, guestServices, guestSession, guestStatus, guestUsers, processOptions, userAddOptions } from './types.js';

const REDACTED = '[redacted]';

/** guest.status's agent, and guest.processes' source, when our agent inside the VM answered. */
export const VEM_GUEST_AGENT = 'vem-guest-agent';

/** guest.status's agent when no agent runs in the VM but the node agent reads its processes from the host (an LXC container). */
export const HOST_PROC_AGENT = 'host-proc';

/** The `source` of guest.processes read by the node agent from the host's /proc. */
export function hostProcSource(initPid: number): string {
  return `host /proc (LXC init pid ${initPid})`;
}

function isStruct(v: XmlRpcValue | undefined): v is { [k: string]: XmlRpcValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

/** guest.userSetPassword(vm, name, password): the password never reaches a log. */
function redactPassword(params: XmlRpcValue[]): XmlRpcValue[] {
  return params.map((p, i) => (i === 2 ? REDACTED : p));
}

/** guest.userAdd(vm, name, {password, ...}): the options' password never reaches a log. */
function redactUserAdd(params: XmlRpcValue[]): XmlRpcValue[] {
  return params.map((p, i) => (i === 2 && isStruct(p) && 'password' in p ? { ...p, password: REDACTED } : p));
}

export const guest = {
  filesystems: method({
    name: 'guest.filesystems',
    help: 'Mounted filesystems in the guest with sizes. The first argument is the VM name.',
    params: [string],
    result: array(guestFilesystem),
  }),
  info: method({
    name: 'guest.info',
    help: 'OS, kernel, hostname, uptime, load, CPUs and memory of the guest. The first argument is the VM name.',
    params: [string],
    result: guestInfo,
  }),
  interfaces: method({
    name: 'guest.interfaces',
    help: 'Network interfaces and addresses in the guest. The first argument is the VM name.',
    params: [string],
    result: array(guestInterface),
  }),
  ping: method({
    name: 'guest.ping',
    help: 'Which agent answers in the VM: {agent, version, pid, hostname} or {agent: "qemu-guest-agent"}. The first argument is the VM name.',
    params: [string],
    result: guestPing,
  }),
  policy: method({
    name: 'guest.policy',
    help: 'The guest\'s own policy: which actions it allows. The first argument is the VM name.',
    params: [string],
    result: guestPolicy,
  }),
  processes: method({
    name: 'guest.processes',
    help: 'Processes in the guest: pid, ppid, user, state, cpuPercent, rssKiB, startTime, command... Optional struct {intervalMs}. The first argument is the VM name. Of an LXC container (no agent inside), read by the node agent from the host\'s /proc: pids as the container sees them, hostPid as the host does, initPid, and source "host /proc (LXC init pid N)".',
    params: [string, opt(processOptions)],
    result: guestProcesses,
  }),
  serviceAction: method({
    name: 'guest.serviceAction',
    help: 'start/stop/restart/enable/disable a service in the guest: (vm, service, action). The first argument is the VM name.',
    params: [string, string, string],
    result: guestActionResult,
    mutates: true,
  }),
  services: method({
    name: 'guest.services',
    help: 'Services in the guest (systemd, OpenRC or init scripts). The first argument is the VM name.',
    params: [string],
    result: guestServices,
  }),
  sessions: method({
    name: 'guest.sessions',
    help: 'Who is logged in to the guest. The first argument is the VM name.',
    params: [string],
    result: array(guestSession),
  }),
  signal: method({
    name: 'guest.signal',
    help: 'Signals a process in the guest: (vm, pid, signal name or number). The first argument is the VM name.',
    params: [string, int, union(string, int)],
    result: guestActionResult,
    mutates: true,
  }),
  status: method({
    name: 'guest.status',
    help: 'Which guest agent answers in a VM: {vm, agent: "vem-guest-agent" | "qemu-guest-agent" | "simulated" | "none", detail}. Never a fault for a missing agent. agent "host-proc": an LXC container, whose processes the node agent reads from the host\'s /proc (source names its init pid).',
    params: [string],
    result: guestStatus,
  }),
  userAdd: method({
    name: 'guest.userAdd',
    help: 'Adds a user in the guest: (vm, name[, {uid, shell, home, gecos, groups, password}]). The first argument is the VM name.',
    params: [string, string, opt(userAddOptions)],
    result: guestActionResult,
    mutates: true,
    redact: redactUserAdd,
  }),
  userLock: method({
    name: 'guest.userLock',
    help: 'Locks a user\'s password in the guest: (vm, name). The first argument is the VM name.',
    params: [string, string],
    result: guestActionResult,
    mutates: true,
  }),
  userRemove: method({
    name: 'guest.userRemove',
    help: 'Removes a user in the guest: (vm, name). The first argument is the VM name.',
    params: [string, string],
    result: guestActionResult,
    mutates: true,
  }),
  userSetPassword: method({
    name: 'guest.userSetPassword',
    help: 'Sets a user\'s password, hashed in the guest: (vm, name, password). The first argument is the VM name.',
    params: [string, string, string],
    result: guestActionResult,
    mutates: true,
    redact: redactPassword,
  }),
  userUnlock: method({
    name: 'guest.userUnlock',
    help: 'Unlocks a user\'s password in the guest: (vm, name). The first argument is the VM name.',
    params: [string, string],
    result: guestActionResult,
    mutates: true,
  }),
  users: method({
    name: 'guest.users',
    help: 'Accounts and groups in the guest, with admin rights and lock state. The first argument is the VM name.',
    params: [string],
    result: guestUsers,
  }),
};
