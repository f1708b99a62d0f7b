/** vm.snapshot.*: a VM's snapshots. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { escapeXml } from '../../common/xml.js';
import { plain, str, type AgentCore } from '../core.js';

export function registerSnapshotMethods(r: MethodRegistry, core: AgentCore): void {
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
}
