/** network.*: virtual networks, each with the VMs that use it. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { networkUsers } from '../used-by.js';
import { xmlParser } from '../../common/xml.js';
import { badArg, plain, str, type AgentCore } from '../core.js';

/** The <name> of network XML, when it parses; libvirt itself refuses what does not. */
function networkName(xml: string): string | undefined {
  try {
    const n = (xmlParser().parse(xml) as { network?: { name?: unknown } }).network?.name;
    return typeof n === 'string' ? n.trim() : undefined;
  } catch {
    return undefined;
  }
}

export function registerNetworkMethods(r: MethodRegistry, core: AgentCore): void {
  serve(r, api.network.list, async () => plain(await core.hv().listNetworks()).map((n) => ({ ...n, usedBy: networkUsers(core.domains.entries, n.name, n.bridge) })));
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
  // Create = define + start, as one change: a network that cannot start is undefined again,
  // and an existing network is refused (network.define changes one), so the undo never
  // removes a definition this call did not make.
  serve(r, api.network.create, async ([xml]) => {
    const hv = core.hv();
    const want = networkName(xml);
    if (want !== undefined && (await hv.listNetworks()).some((n) => n.name === want)) {
      throw badArg(`network '${want}' exists already: network.create makes a new one (network.define changes a definition, network.start starts it)`);
    }
    const name = await hv.networkDefine(xml);
    try {
      await hv.networkStart(name);
    } catch (e) {
      await hv.networkUndefine(name).catch(() => undefined);
      core.events.push('network', 'create-failed', undefined, { network: name });
      throw e;
    }
    core.events.push('network', 'create', undefined, { network: name });
    return name;
  });
  // Delete = stop (when active) + undefine; a transient network is gone once stopped.
  serve(r, api.network.delete, async ([name]) => {
    const hv = core.hv();
    const n = (await hv.listNetworks()).find((x) => x.name === name);
    if (!n) await hv.networkXml(name); // libvirt's own "network not found"
    if (n?.active) await hv.networkStop(name);
    if (n?.persistent !== false) await hv.networkUndefine(name);
    core.events.push('network', 'delete', undefined, { network: name, usedBy: networkUsers(core.domains.entries, name, n?.bridge).join(',') });
    return true;
  });
  serve(r, api.network.dhcpLeases, async ([name]) => plain(await core.hv().networkDhcpLeases(name)));
}
