/**
 * The guest browser's commands (processes, users, services; the actions on them) and
 * what every manage command shares: the node's link, the status line, error text.
 * Results and errors go to the status line; nothing blocks the UI.
 */
import { api } from '../../api/index.js';
import { HOST_PROC_AGENT } from '../../api/guest.js';
import type { Link, XmlRpcValue } from '../store/link.js';
import type { GuestSection, ManageStore } from '../store/manage.js';
import type { VmRecord } from '../store/model.js';
import { decodeFilesystems, decodeGuestInfo, decodeGuestStatus, decodeInterfaces, decodeProcesses, decodeServices, decodeSessions, decodeUsers } from '../store/manage-decode.js';

export interface ManageHost {
  link(node: string): Link | undefined;
  /** The VMs the dashboard knows on a node (their names, for domain XML). */
  vmNames(node: string): string[];
  say(text: string, isError?: boolean): void;
  /** Ask the node's poller for its VM list now. */
  invalidate(node: string): void;
}

export function errText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 300);
}

/** A refusal by the guest's own policy (fault 403), as opposed to a failure. */
export function isPolicyRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 403 || /refused by the guest's policy/i.test(errText(e));
}

/** The `source` member of a guest.processes answer (shown by the browser); undefined when absent. */
export function processSourceOf(v: XmlRpcValue): string | undefined {
  const s = typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v) ? (v as { source?: unknown }).source : undefined;
  return typeof s === 'string' && s !== '' ? s.slice(0, 200) : undefined;
}

/** Why a section is not read from a container whose processes come from the host: nothing answers inside it. */
export const HOST_PROC_ONLY = "not read: no agent runs in this container (its processes are read from the host's /proc; the rest needs an agent inside)";

export class GuestCommands {
  constructor(
    readonly host: ManageHost,
    readonly store: ManageStore,
  ) {}

  call(node: string, method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const l = this.host.link(node);
    if (!l) return Promise.reject(new Error(`no link to node ${node}`));
    return l.call(method, ...params);
  }

  /** Read the guest's data: which agent answers, then every section (each may fail alone). */
  async loadGuest(vm: VmRecord, sections: GuestSection[]): Promise<void> {
    const g = this.store.guest(vm.key);
    if (g.loading) return;
    g.loading = true;
    this.store.changed();
    try {
      g.status = decodeGuestStatus(await this.call(vm.node, api.guest.status.name, vm.name));
    } catch (e) {
      g.status = { agent: 'none', detail: errText(e), simulated: false };
    }
    if (g.status.agent === 'none') {
      g.loading = false;
      g.at = Date.now();
      this.store.changed();
      return;
    }
    const read: Record<GuestSection, () => Promise<void>> = {
      processes: async () => {
        const v = await this.call(vm.node, api.guest.processes.name, vm.name);
        g.processes = decodeProcesses(v);
        g.processSource = processSourceOf(v);
      },
      users: async () => {
        const u = decodeUsers(await this.call(vm.node, api.guest.users.name, vm.name));
        g.users = u.users;
        g.groups = u.groups;
      },
      sessions: async () => {
        g.sessions = decodeSessions(await this.call(vm.node, api.guest.sessions.name, vm.name));
      },
      services: async () => {
        const s = decodeServices(await this.call(vm.node, api.guest.services.name, vm.name));
        g.init = s.init;
        g.services = s.services;
      },
      info: async () => {
        g.info = decodeGuestInfo(await this.call(vm.node, api.guest.info.name, vm.name));
      },
      filesystems: async () => {
        g.filesystems = decodeFilesystems(await this.call(vm.node, api.guest.filesystems.name, vm.name));
      },
      interfaces: async () => {
        g.interfaces = decodeInterfaces(await this.call(vm.node, api.guest.interfaces.name, vm.name));
      },
    };
    // A container read from the host answers processes only: the rest is not asked for on every refresh.
    const hostOnly = g.status.agent === HOST_PROC_AGENT;
    if (hostOnly) for (const s of sections) if (s !== 'processes') g.errors[s] = HOST_PROC_ONLY;
    await Promise.all(
      sections.filter((s) => !hostOnly || s === 'processes').map(async (s) => {
        try {
          await read[s]();
          delete g.errors[s];
        } catch (e) {
          g.errors[s] = errText(e);
        }
      }),
    );
    g.loading = false;
    g.at = Date.now();
    this.store.changed();
  }

  private async guestAct(vm: VmRecord, label: string, fn: () => Promise<unknown>, reload: GuestSection[]): Promise<boolean> {
    const g = this.store.guest(vm.key);
    g.refused = undefined;
    this.host.say(`${label}...`);
    try {
      await fn();
      this.host.say(`${label}: ok`);
      await this.loadGuest(vm, reload);
      return true;
    } catch (e) {
      if (isPolicyRefusal(e)) {
        g.refused = errText(e);
        this.store.changed();
        this.host.say(`${label}: ${errText(e)}`, true);
      } else this.host.say(`${label} failed: ${errText(e)}`, true);
      return false;
    }
  }

  /** `signal` without its SIG prefix (TERM); the guest agent is sent SIGTERM, the name it accepts. */
  guestSignal(vm: VmRecord, pid: number, signal: string): Promise<boolean> {
    return this.guestAct(vm, `signal ${signal} to pid ${pid} in ${vm.name}`, () => this.call(vm.node, api.guest.signal.name, vm.name, pid, `SIG${signal}`), ['processes']);
  }

  serviceAction(vm: VmRecord, service: string, action: string): Promise<boolean> {
    return this.guestAct(vm, `${action} ${service} in ${vm.name}`, () => this.call(vm.node, api.guest.serviceAction.name, vm.name, service, action), ['services']);
  }

  /** Add a user; without a password the account has none (locked for password logins). */
  userAdd(vm: VmRecord, name: string, shell: string | undefined): Promise<boolean> {
    return this.guestAct(vm, `add user ${name} in ${vm.name}`, () => this.call(vm.node, api.guest.userAdd.name, vm.name, name, shell ? { shell } : {}), ['users']);
  }

  userLock(vm: VmRecord, name: string, lock: boolean): Promise<boolean> {
    const m = lock ? api.guest.userLock : api.guest.userUnlock;
    return this.guestAct(vm, `${lock ? 'lock' : 'unlock'} user ${name} in ${vm.name}`, () => this.call(vm.node, m.name, vm.name, name), ['users']);
  }

  /** The password goes to the guest (hashed there) and is never said or logged here. */
  userSetPassword(vm: VmRecord, name: string, password: string): Promise<boolean> {
    return this.guestAct(vm, `set the password of ${name} in ${vm.name}`, () => this.call(vm.node, api.guest.userSetPassword.name, vm.name, name, password), ['users']);
  }

  userRemove(vm: VmRecord, name: string): Promise<boolean> {
    return this.guestAct(vm, `remove user ${name} in ${vm.name}`, () => this.call(vm.node, api.guest.userRemove.name, vm.name, name), ['users', 'sessions']);
  }
}
