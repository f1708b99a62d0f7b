/** network.*: virtual networks, each with the VMs that use it. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { networkUsers } from '../used-by.js';
import { plain, str, type AgentCore } from '../core.js';

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
}
