/**
 * Commands of the management screens: they read storage, networks, snapshots and
 * VM definitions into the ManageStore and send the admin's actions to the node's
 * agent (the guest browser's are in manage-guest.ts, which this class extends).
 * Results and errors go to the status line; nothing blocks the UI.
 */
import { api } from '../../api/index.js';
import { checked } from '../../api/client.js';
import type { NodeStorage } from '../store/manage.js';
import type { VmRecord } from '../store/model.js';
import { domainDevices } from '../store/manage-xml.js';
import { decodeNetworks, decodePools, decodeVolumes } from '../store/manage-decode.js';
import { volumeXml } from './manage-validate.js';
import { errText, GuestCommands } from './manage-guest.js';
import { Coalescer } from './coalesce.js';
import { domainXmlFor, type CreatePlan } from './manage-create.js';

export { errText, isPolicyRefusal, type ManageHost } from './manage-guest.js';

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

export class ManageCommands extends GuestCommands {
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
