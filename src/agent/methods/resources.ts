/** vm.snapshot.*, storage.*, network.*. */
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { fromJsonValue, type XmlRpcValue } from '../../common/xmlrpc/value.js';
import { str, type AgentCore } from '../core.js';

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function registerResourceMethods(r: MethodRegistry, core: AgentCore): void {
  const vmEvent = (vm: string, kind: string, detail: Record<string, string> = {}): void => {
    core.events.push('vm', kind, vm, detail);
  };

  r.register({
    name: 'vm.snapshot.create',
    help:
      'Takes a snapshot: vm.snapshot.create(name[, snapshotNameOrXml]) -> the snapshot name. The second argument is either a name ' +
      '(the agent writes the <domainsnapshot> XML) or full snapshot XML starting with "<". Without it libvirt picks a name.',
    signature: [['string', 'string'], ['string', 'string', 'string']],
    mutates: true,
    handler: async (p) => {
      const arg = (p[1] as string | undefined)?.trim();
      const xml = arg === undefined || arg === '' ? '<domainsnapshot/>' : arg.startsWith('<') ? arg : `<domainsnapshot><name>${escapeXml(arg)}</name></domainsnapshot>`;
      const snap = await core.hv().snapshotCreate(str(p, 0), xml);
      vmEvent(str(p, 0), 'snapshot-created', { snapshot: snap });
      return snap;
    },
  });
  r.register({
    name: 'vm.snapshot.list',
    help: 'The VM\'s snapshots: [{name, creationTime (s since the epoch), state, parent, current, description}].',
    signature: [['array', 'string']],
    handler: async (p) => fromJsonValue(await core.hv().snapshotList(str(p, 0))),
  });
  r.register({
    name: 'vm.snapshot.current',
    help: 'The name of the VM\'s current snapshot, or "" when it has none.',
    signature: [['string', 'string']],
    handler: async (p) => (await core.hv().snapshotCurrent(str(p, 0))) ?? '',
  });
  r.register({
    name: 'vm.snapshot.revert',
    help: 'Reverts the VM to a snapshot: vm.snapshot.revert(name, snapshot) -> true.',
    signature: [['boolean', 'string', 'string']],
    mutates: true,
    handler: async (p) => {
      await core.hv().snapshotRevert(str(p, 0), str(p, 1));
      core.domains.markDirty(str(p, 0));
      vmEvent(str(p, 0), 'snapshot-reverted', { snapshot: str(p, 1) });
      return true;
    },
  });
  r.register({
    name: 'vm.snapshot.delete',
    help: 'Deletes a snapshot: vm.snapshot.delete(name, snapshot) -> true.',
    signature: [['boolean', 'string', 'string']],
    mutates: true,
    handler: async (p) => {
      await core.hv().snapshotDelete(str(p, 0), str(p, 1));
      vmEvent(str(p, 0), 'snapshot-deleted', { snapshot: str(p, 1) });
      return true;
    },
  });

  r.register({
    name: 'storage.pools',
    help: 'Storage pools: [{name, uuid, state, capacity, allocation, available (bytes, as <double>), autostart, persistent, type, path}].',
    signature: [['array']],
    handler: async () => fromJsonValue(await core.hv().listPools()),
  });
  r.register({
    name: 'storage.poolXml',
    help: 'A storage pool\'s XML: storage.poolXml(pool).',
    signature: [['string', 'string']],
    handler: (p) => core.hv().poolXml(str(p, 0)),
  });
  r.register({
    name: 'storage.volumes',
    help: 'The volumes of a pool: storage.volumes(pool) -> [{name, key, path, type, capacity, allocation, format}] (bytes as <double>).',
    signature: [['array', 'string']],
    handler: async (p) => fromJsonValue(await core.hv().listVolumes(str(p, 0))),
  });
  r.register({
    name: 'storage.refresh',
    help: 'Rescans a pool for volumes made outside libvirt: storage.refresh(pool) -> true.',
    signature: [['boolean', 'string']],
    mutates: true,
    handler: async (p) => {
      await core.hv().poolRefresh(str(p, 0));
      return true;
    },
  });
  r.register({
    name: 'storage.createVolume',
    help: 'Creates a volume from <volume> XML: storage.createVolume(pool, xml) -> the volume as in storage.volumes.',
    signature: [['struct', 'string', 'string']],
    mutates: true,
    handler: async (p) => {
      const v = await core.hv().createVolume(str(p, 0), str(p, 1));
      core.events.push('storage', 'volume-created', undefined, { pool: str(p, 0), volume: v.name });
      return fromJsonValue(v);
    },
  });
  r.register({
    name: 'storage.deleteVolume',
    help: 'Deletes a volume: storage.deleteVolume(pool, volume) -> true.',
    signature: [['boolean', 'string', 'string']],
    mutates: true,
    handler: async (p) => {
      await core.hv().deleteVolume(str(p, 0), str(p, 1));
      core.events.push('storage', 'volume-deleted', undefined, { pool: str(p, 0), volume: str(p, 1) });
      return true;
    },
  });

  r.register({
    name: 'network.list',
    help: 'Virtual networks: [{name, uuid, active, persistent, autostart, bridge, ipAddress, netmask, dhcpStart, dhcpEnd}].',
    signature: [['array']],
    handler: async () => fromJsonValue(await core.hv().listNetworks()),
  });
  r.register({
    name: 'network.xml',
    help: 'A network\'s XML: network.xml(name).',
    signature: [['string', 'string']],
    handler: (p) => core.hv().networkXml(str(p, 0)),
  });
  const netOps: Array<[string, string, string[], (p: XmlRpcValue[]) => Promise<unknown>]> = [
    ['network.start', 'Starts a defined network: network.start(name) -> true.', ['boolean', 'string'], (p) => core.hv().networkStart(str(p, 0))],
    ['network.stop', 'Stops a network: network.stop(name) -> true.', ['boolean', 'string'], (p) => core.hv().networkStop(str(p, 0))],
    ['network.undefine', 'Removes a network\'s definition: network.undefine(name) -> true.', ['boolean', 'string'], (p) => core.hv().networkUndefine(str(p, 0))],
    ['network.setAutostart', 'Starts the network when the node boots, or not: network.setAutostart(name, on) -> true.', ['boolean', 'string', 'boolean'], (p) => core.hv().networkSetAutostart(str(p, 0), p[1] as boolean)],
  ];
  for (const [name, help, sig, fn] of netOps) {
    r.register({
      name,
      help,
      signature: [sig],
      mutates: true,
      handler: async (p) => {
        await fn(p);
        core.events.push('network', name.slice('network.'.length), undefined, { network: str(p, 0) });
        return true;
      },
    });
  }
  r.register({
    name: 'network.define',
    help: 'Defines a network from <network> XML: network.define(xml) -> its name.',
    signature: [['string', 'string']],
    mutates: true,
    handler: async (p) => {
      const name = await core.hv().networkDefine(str(p, 0));
      core.events.push('network', 'define', undefined, { network: name });
      return name;
    },
  });
}
