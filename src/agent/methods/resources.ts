/** vm.snapshot.*, storage.*, network.*. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { plain, str, type AgentCore } from '../core.js';

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** VMs whose cached definition uses a volume: by its path, or by pool and volume name. */
function volumeUsers(core: AgentCore, pool: string, name: string, path: string): string[] {
  const out: string[] = [];
  for (const [vm, d] of core.domains.entries) {
    if (d.summary?.disks.some((k) => (k.pool === pool && k.source === name) || (k.pool === undefined && path !== '' && k.source === path))) out.push(vm);
  }
  return out.sort();
}

/** VMs whose cached definition has an interface on a network. */
function networkUsers(core: AgentCore, network: string): string[] {
  const out: string[] = [];
  for (const [vm, d] of core.domains.entries) if (d.summary?.interfaces.some((i) => i.type === 'network' && i.source === network)) out.push(vm);
  return out.sort();
}

export function registerResourceMethods(r: MethodRegistry, core: AgentCore): void {
  const vmEvent = (vm: string, kind: string, detail: Record<string, string> = {}): void => {
    core.events.push('vm', kind, vm, detail);
  };

  serve(r, api.vm.snapshotCreate, async (p) => {
      const arg = (p[1] as string | undefined)?.trim();
      const xml = arg === undefined || arg === '' ? '<domainsnapshot/>' : arg.startsWith('<') ? arg : `<domainsnapshot><name>${escapeXml(arg)}</name></domainsnapshot>`;
      const snap = await core.hv().snapshotCreate(str(p, 0), xml);
      vmEvent(str(p, 0), 'snapshot-created', { snapshot: snap });
      return snap;
    });
  serve(r, api.vm.snapshotList, async (p) => plain(await core.hv().snapshotList(str(p, 0))));
  serve(r, api.vm.snapshotCurrent, async (p) => (await core.hv().snapshotCurrent(str(p, 0))) ?? '');
  serve(r, api.vm.snapshotRevert, async (p) => {
      await core.hv().snapshotRevert(str(p, 0), str(p, 1));
      core.domains.markDirty(str(p, 0));
      vmEvent(str(p, 0), 'snapshot-reverted', { snapshot: str(p, 1) });
      return true;
    });
  serve(r, api.vm.snapshotDelete, async (p) => {
      await core.hv().snapshotDelete(str(p, 0), str(p, 1));
      vmEvent(str(p, 0), 'snapshot-deleted', { snapshot: str(p, 1) });
      return true;
    });

  serve(r, api.storage.pools, async () => plain(await core.hv().listPools()));
  serve(r, api.storage.poolXml, (p) => core.hv().poolXml(str(p, 0)));
  serve(r, api.storage.volumes, async ([pool]) => plain(await core.hv().listVolumes(pool)).map((v) => ({ ...v, usedBy: volumeUsers(core, pool, v.name, v.path) })));
  serve(r, api.storage.refresh, async (p) => {
      await core.hv().poolRefresh(str(p, 0));
      return true;
    });
  serve(r, api.storage.createVolume, async (p) => {
      const v = await core.hv().createVolume(str(p, 0), str(p, 1));
      core.events.push('storage', 'volume-created', undefined, { pool: str(p, 0), volume: v.name });
      return plain(v);
    });
  serve(r, api.storage.deleteVolume, async (p) => {
      await core.hv().deleteVolume(str(p, 0), str(p, 1));
      core.events.push('storage', 'volume-deleted', undefined, { pool: str(p, 0), volume: str(p, 1) });
      return true;
    });

  serve(r, api.network.list, async () => plain(await core.hv().listNetworks()).map((n) => ({ ...n, usedBy: networkUsers(core, n.name) })));
  serve(r, api.network.xml, (p) => core.hv().networkXml(str(p, 0)));
  const netOps = [
    [api.network.start, 'start', (n: string) => core.hv().networkStart(n)],
    [api.network.stop, 'stop', (n: string) => core.hv().networkStop(n)],
    [api.network.undefine, 'undefine', (n: string) => core.hv().networkUndefine(n)],
  ] as const;
  for (const [m, kind, fn] of netOps) {
    serve(r, m, async ([name]) => {
      await fn(name);
      core.events.push('network', kind, undefined, { network: name });
      return true;
    });
  }
  serve(r, api.network.setAutostart, async ([name, on]) => {
    await core.hv().networkSetAutostart(name, on);
    core.events.push('network', 'setAutostart', undefined, { network: name });
    return true;
  });
  serve(r, api.network.define, async (p) => {
      const name = await core.hv().networkDefine(str(p, 0));
      core.events.push('network', 'define', undefined, { network: name });
      return name;
    });
}
