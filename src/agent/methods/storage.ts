/** storage.*: pools and volumes, each volume with the VMs that use it. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { volumeUsers } from '../used-by.js';
import { plain, str, type AgentCore } from '../core.js';

export function registerStorageMethods(r: MethodRegistry, core: AgentCore): void {
  serve(r, api.storage.pools, async () => plain(await core.hv().listPools()));
  serve(r, api.storage.poolXml, (p) => core.hv().poolXml(str(p, 0)));
  serve(r, api.storage.volumes, async ([pool]) => plain(await core.hv().listVolumes(pool)).map((v) => ({ ...v, usedBy: volumeUsers(core.domains.entries, pool, v) })));
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
  serve(r, api.storage.definePool, async ([xml]) => {
    const name = await core.hv().poolDefine(xml);
    core.events.push('storage', 'pool-defined', undefined, { pool: name });
    return name;
  });
  const poolOps = [
    [api.storage.buildPool, 'pool-built', (p: string) => core.hv().poolBuild(p)],
    [api.storage.startPool, 'pool-started', (p: string) => core.hv().poolStart(p)],
  ] as const;
  for (const [m, kind, fn] of poolOps) {
    serve(r, m, async ([pool]) => {
      await fn(pool);
      core.events.push('storage', kind, undefined, { pool });
      return true;
    });
  }
}
