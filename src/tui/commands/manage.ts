/**
 * Commands of the management screens: they read storage, networks and guest
 * data into the ManageStore and send the admin's actions to the node's agent.
 * Results and errors go to the status line; nothing blocks the UI.
 */
import { api } from '../../api/index.js';
import { checked } from '../../api/client.js';
import type { Link, XmlRpcValue } from '../store/link.js';
import type { ManageStore, NodeStorage, GuestSection } from '../store/manage.js';
import type { VmRecord } from '../store/model.js';
import { domainDevices } from '../store/manage-xml.js';
import {
  decodeFilesystems,
  decodeGuestInfo,
  decodeGuestStatus,
  decodeInterfaces,
  decodeNetworks,
  decodePools,
  decodeProcesses,
  decodeServices,
  decodeSessions,
  decodeUsers,
  decodeVolumes,
} from '../store/manage-decode.js';
import { volumeXml } from './manage-validate.js';
import { Coalescer } from './coalesce.js';
import { domainXmlFor, type CreatePlan } from './manage-create.js';

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

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export class ManageCommands {
  constructor(
    readonly host: ManageHost,
    readonly store: ManageStore,
  ) {}

  call(node: string, method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const l = this.host.link(node);
    if (!l) return Promise.reject(new Error(`no link to node ${node}`));
    return l.call(method, ...params);
  }

  private readonly reads = new Coalescer();

  /**
   * The node's pools, their volumes and who uses each. Who uses what comes from the
   * agent (`usedBy`, from the definitions it already holds): no VM's XML is fetched,
   * so the view's cost does not grow with the node's VMs.
   */
  loadStorage(node: string): Promise<void> {
    return this.reads.run(`storage/${node}`, () => this.readStorage(node));
  }

  private async readStorage(node: string): Promise<void> {
    const l = this.store.loaded(this.store.storage, node);
    l.loading = true;
    this.store.changed();
    try {
      const pools = decodePools(await this.call(node, api.storage.pools.name));
      const data: NodeStorage = { pools, volumes: new Map(), volumeErrors: new Map(), users: new Map() };
      await pool(pools, 4, async (p) => {
        if (p.state !== 'running') return data.volumeErrors.set(p.name, `pool is ${p.state}`);
        try {
          const vols = decodeVolumes(await this.call(node, api.storage.volumes.name, p.name));
          data.volumes.set(p.name, vols);
          data.users.set(p.name, new Map(vols.map((v) => [v.name, [...(v.usedBy ?? [])].sort()])));
        } catch (e) {
          data.volumeErrors.set(p.name, errText(e));
        }
      });
      l.data = data;
      l.error = undefined;
      l.at = Date.now();
    } catch (e) {
      l.error = errText(e);
    } finally {
      l.loading = false;
      this.store.changed();
    }
  }

  /** The node's networks and who uses each (`usedBy` from the agent, as for storage). */
  loadNetworks(node: string): Promise<void> {
    return this.reads.run(`networks/${node}`, () => this.readNetworks(node));
  }

  private async readNetworks(node: string): Promise<void> {
    const l = this.store.loaded(this.store.networks, node);
    l.loading = true;
    this.store.changed();
    try {
      const nets = decodeNetworks(await this.call(node, api.network.list.name));
      l.data = { networks: nets, users: new Map(nets.map((n) => [n.name, [...(n.usedBy ?? [])].sort()])) };
      l.error = undefined;
      l.at = Date.now();
    } catch (e) {
      l.error = errText(e);
    } finally {
      l.loading = false;
      this.store.changed();
    }
  }

  private async act(label: string, fn: () => Promise<unknown>, after?: () => Promise<void>): Promise<boolean> {
    this.host.say(`${label}...`);
    try {
      await fn();
      this.host.say(`${label}: ok`);
      if (after) await after();
      return true;
    } catch (e) {
      this.host.say(`${label} failed: ${errText(e)}`, true);
      return false;
    }
  }

  createVolume(node: string, poolName: string, name: string, bytes: number, format: string): Promise<boolean> {
    return this.act(`create volume ${name} in ${poolName} on ${node}`, () => this.call(node, api.storage.createVolume.name, poolName, volumeXml(name, bytes, format)), () => this.loadStorage(node));
  }

  /** The VMs using a volume as last read; refused unless forced when there are any. */
  volumeUsersOf(node: string, poolName: string, vol: string): string[] {
    return this.store.storage.get(node)?.data?.users.get(poolName)?.get(vol) ?? [];
  }

  async deleteVolume(node: string, poolName: string, vol: string, force: boolean): Promise<boolean> {
    const users = this.volumeUsersOf(node, poolName, vol);
    if (users.length > 0 && !force) {
      this.host.say(`volume ${vol} is used by ${users.join(', ')}: not deleted (F forces, after a confirmation)`, true);
      return false;
    }
    return this.act(`delete volume ${vol} from ${poolName} on ${node}`, () => this.call(node, api.storage.deleteVolume.name, poolName, vol), () => this.loadStorage(node));
  }

  refreshPool(node: string, poolName: string): Promise<boolean> {
    return this.act(`refresh pool ${poolName} on ${node}`, () => this.call(node, api.storage.refresh.name, poolName), () => this.loadStorage(node));
  }

  networkStart(node: string, net: string): Promise<boolean> {
    return this.act(`start network ${net} on ${node}`, () => this.call(node, api.network.start.name, net), () => this.loadNetworks(node));
  }

  networkStop(node: string, net: string): Promise<boolean> {
    return this.act(`stop network ${net} on ${node}`, () => this.call(node, api.network.stop.name, net), () => this.loadNetworks(node));
  }

  networkAutostart(node: string, net: string, on: boolean): Promise<boolean> {
    return this.act(`autostart ${on ? 'on' : 'off'} for network ${net} on ${node}`, () => this.call(node, api.network.setAutostart.name, net, on), () => this.loadNetworks(node));
  }

  /** Define + start as one agent call (undone there when it cannot start). */
  networkCreate(node: string, name: string, xml: string): Promise<boolean> {
    return this.act(`create network ${name} on ${node}`, () => this.call(node, api.network.create.name, xml), () => this.loadNetworks(node));
  }

  /** Stop + undefine as one agent call; the screen has named the VMs on it first. */
  networkDelete(node: string, net: string): Promise<boolean> {
    return this.act(`delete network ${net} on ${node}`, () => this.call(node, api.network.delete.name, net), () => this.loadNetworks(node));
  }

  /** The network's DHCP leases (a driver without them: its refusal is the error shown). */
  async loadLeases(node: string, net: string): Promise<void> {
    const l = this.store.loaded(this.store.leases, `${node}/${net}`);
    l.loading = true;
    this.store.changed();
    try {
      l.data = checked(api.network.dhcpLeases, await this.call(node, api.network.dhcpLeases.name, net));
      l.error = undefined;
      l.at = Date.now();
    } catch (e) {
      l.error = errText(e);
      l.data = undefined;
    } finally {
      l.loading = false;
      this.store.changed();
    }
  }

  /**
   * A new pool in three agent calls: define, build (make its folder), start. A step that
   * fails stops there and says which; what was done stays (a defined pool can be built or
   * started again from the list).
   */
  async poolCreate(node: string, name: string, xml: string): Promise<boolean> {
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['define', () => this.call(node, api.storage.definePool.name, xml)],
      ['build', () => this.call(node, api.storage.buildPool.name, name)],
      ['start', () => this.call(node, api.storage.startPool.name, name)],
    ];
    this.host.say(`create pool ${name} on ${node}...`);
    for (const [i, [step, fn]] of steps.entries()) {
      try {
        await fn();
      } catch (e) {
        this.host.say(`create pool ${name} failed at ${step}: ${errText(e)}${i > 0 ? ` (the pool is defined; b builds, u starts it)` : ''}`, true);
        await this.loadStorage(node);
        return false;
      }
    }
    this.host.say(`create pool ${name} on ${node}: ok (defined, built, started)`);
    await this.loadStorage(node);
    return true;
  }

  poolStart(node: string, pool: string): Promise<boolean> {
    return this.act(`start pool ${pool} on ${node}`, () => this.call(node, api.storage.startPool.name, pool), () => this.loadStorage(node));
  }

  poolBuild(node: string, pool: string): Promise<boolean> {
    return this.act(`build pool ${pool} on ${node}`, () => this.call(node, api.storage.buildPool.name, pool), () => this.loadStorage(node));
  }

  /** A VM's snapshots with creation time and state, newest first. */
  async loadSnapshots(vm: VmRecord): Promise<void> {
    const l = this.store.loaded(this.store.snapshots, vm.key);
    l.loading = true;
    this.store.changed();
    try {
      l.data = [...checked(api.vm.snapshotList, await this.call(vm.node, api.vm.snapshotList.name, vm.name))].sort((a, b) => (b.creationTime ?? 0) - (a.creationTime ?? 0) || a.name.localeCompare(b.name));
      l.error = undefined;
      l.at = Date.now();
    } catch (e) {
      l.error = errText(e);
    } finally {
      l.loading = false;
      this.store.changed();
    }
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
        g.processes = decodeProcesses(await this.call(vm.node, api.guest.processes.name, vm.name));
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
    await Promise.all(
      sections.map(async (s) => {
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

  /** The persistent definition, the one an edit replaces. */
  async domainXml(vm: VmRecord): Promise<string> {
    const x = await this.call(vm.node, api.vm.xml.name, vm.name, { inactive: true });
    return typeof x === 'string' ? x : '';
  }

  /** Send edited XML; on refusal the error is returned (libvirt's words) and nothing changed. */
  async redefine(vm: VmRecord, xml: string): Promise<{ ok: true; appliesAtNextBoot: boolean } | { ok: false; error: string }> {
    try {
      const r = await this.call(vm.node, api.vm.redefine.name, vm.name, xml);
      this.host.invalidate(vm.node);
      const next = typeof r === 'object' && r !== null && !Array.isArray(r) && !(r instanceof Date) && !Buffer.isBuffer(r) && r['appliesAtNextBoot'] === true;
      return { ok: true, appliesAtNextBoot: next };
    } catch (e) {
      return { ok: false, error: errText(e) };
    }
  }

  /**
   * Create a VM from a checked plan: its new volume first, then the definition;
   * a definition libvirt refuses takes the new volume away again. Starts it when asked.
   */
  async createVm(node: string, p: CreatePlan): Promise<{ ok: true } | { ok: false; error: string }> {
    this.host.say(`creating VM ${p.name} on ${node}...`);
    let made: { pool: string; volume: string } | undefined;
    try {
      let path = p.disk?.path;
      if (p.disk?.newBytes !== undefined) {
        const v = decodeVolumes([await this.call(node, api.storage.createVolume.name, p.disk.pool, volumeXml(p.disk.volume, p.disk.newBytes, p.disk.format))])[0];
        made = { pool: p.disk.pool, volume: p.disk.volume };
        path = v?.path;
      }
      await this.call(node, api.vm.define.name, domainXmlFor(p, path));
      made = undefined;
      if (p.start) await this.call(node, api.vm.start.name, p.name);
      this.host.invalidate(node);
      this.host.say(`created VM ${p.name} on ${node}${p.start ? ' and started it' : ''}`);
      return { ok: true };
    } catch (e) {
      if (made) await this.call(node, api.storage.deleteVolume.name, made.pool, made.volume).catch(() => undefined);
      this.host.invalidate(node);
      this.host.say(`create VM ${p.name} failed: ${errText(e)}`, true);
      return { ok: false, error: errText(e) };
    }
  }

  /**
   * Remove a stopped VM's definition (and its snapshots' metadata), then, when
   * asked, the volumes it named; each volume's result is reported.
   */
  async deleteVm(vm: VmRecord, volumes: Array<{ pool: string; volume: string }>): Promise<boolean> {
    this.host.say(`deleting VM ${vm.name} on ${vm.node}...`);
    try {
      await this.call(vm.node, api.vm.undefine.name, vm.name, { snapshots: true, nvram: true });
    } catch (e) {
      this.host.say(`delete VM ${vm.name} failed: ${errText(e)}`, true);
      return false;
    }
    const failed: string[] = [];
    for (const v of volumes) {
      try {
        await this.call(vm.node, api.storage.deleteVolume.name, v.pool, v.volume);
      } catch (e) {
        failed.push(`${v.pool}/${v.volume}: ${errText(e)}`);
      }
    }
    this.host.invalidate(vm.node);
    if (failed.length > 0) this.host.say(`deleted VM ${vm.name}; volumes not deleted: ${failed.join('; ')}`, true);
    else this.host.say(`deleted VM ${vm.name}${volumes.length > 0 ? ` and ${volumes.map((v) => v.volume).join(', ')}` : ' (volumes kept)'}`);
    return failed.length === 0;
  }

  /**
   * Attach, detach or update a device: in the persistent definition, and live
   * too when the VM runs. Returns false (with the error said) when refused.
   */
  device(vm: VmRecord, op: 'attachDevice' | 'detachDevice' | 'updateDevice', xml: string, label: string, running: boolean): Promise<boolean> {
    return this.act(`${label} (${vm.name}${running ? ', live and persistent' : ''})`, async () => {
      await this.call(vm.node, api.vm[op].name, vm.name, xml, { live: running, config: true });
      this.host.invalidate(vm.node);
    });
  }

  async loadVmDevices(vm: VmRecord): Promise<void> {
    const l = this.store.loaded(this.store.vmDevices, vm.key);
    l.loading = true;
    this.store.changed();
    try {
      l.data = domainDevices(await this.domainXml(vm));
      l.error = undefined;
      l.at = Date.now();
    } catch (e) {
      l.error = errText(e);
    } finally {
      l.loading = false;
      this.store.changed();
    }
  }

  /** Change the persistent definition with `edit` (boot order) and send it back; a running VM takes it at its next start. */
  async setBootOrder(vm: VmRecord, edit: (xml: string) => string, label: string): Promise<boolean> {
    let xml: string;
    try {
      xml = edit(await this.domainXml(vm));
    } catch (e) {
      this.host.say(`boot order of ${vm.name}: ${errText(e)}`, true);
      return false;
    }
    const r = await this.redefine(vm, xml);
    if (r.ok) this.host.say(`boot order of ${vm.name}: ${label}${r.appliesAtNextBoot ? ' (from its next start)' : ''}`);
    else this.host.say(`boot order of ${vm.name} refused: ${r.error}`, true);
    return r.ok;
  }
}
