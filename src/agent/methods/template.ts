/** template.list, vm.template.mark/unmark and vm.provision (a job): VMs made from templates with cloud-init. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { listTemplates, prepareProvision, provisionState, runProvision } from '../provision.js';
import { ProvisionError } from '../provision-plan.js';
import { templateMarkOf, withoutTemplateMark, withTemplateMark } from '../provision-xml.js';
import { badArg, opts, optStr, plain, str, type AgentCore } from '../core.js';

/** The VM's persistent XML, after checking it may carry a template mark (stopped, defined). */
async function stoppedXml(core: AgentCore, vm: string): Promise<string> {
  const hv = core.hv();
  const info = await hv.domainInfo(vm);
  if (info.state !== 'shutoff') throw badArg(`${vm} is ${info.state}; only a stopped VM can be made a template or an ordinary VM again (shut it down first)`);
  if (!info.persistent) throw badArg(`${vm} is transient; only a defined VM can be a template`);
  return hv.domainXml(vm, { inactive: true, secure: true });
}

export function registerTemplateMethods(r: MethodRegistry, core: AgentCore): void {
  const node = (): string => core.host?.hostname ?? 'this node';

  serve(r, api.template.list, async () => plain(await listTemplates(core.hv())));

  serve(r, api.template.mark, async (p) => {
    const vm = str(p, 0);
    const o = opts(p, 1);
    for (const k of Object.keys(o)) if (k !== 'os') throw badArg(`unknown template option '${k}' (only os)`);
    const os = optStr(o, 'os');
    const xml = await stoppedXml(core, vm);
    await core.hv().defineDomain(withTemplateMark(xml, os !== undefined ? { os } : {}));
    core.domains.markDirty(vm);
    core.events.push('vm', 'template-marked', vm, os !== undefined ? { os } : {});
    return true;
  });

  serve(r, api.template.unmark, async (p) => {
    const vm = str(p, 0);
    const xml = await stoppedXml(core, vm);
    if (!templateMarkOf(xml)) throw badArg(`${vm} is not marked as a template`);
    await core.hv().defineDomain(withoutTemplateMark(xml));
    core.domains.markDirty(vm);
    core.events.push('vm', 'template-unmarked', vm, {});
    return true;
  });

  serve(r, api.template.provision, async (p, ctx) => {
    const spec = p[0];
    const hv = core.hv();
    let plan;
    try {
      plan = await prepareProvision(hv, node(), spec);
    } catch (e) {
      if (e instanceof ProvisionError) throw badArg(e.message);
      throw e;
    }
    const state = provisionState(plan);
    const job = core.jobs.startTask('provision', plan.template.name, plan.name, { start: plan.start }, ctx.caller, { provision: state }, (j) =>
      runProvision(hv, j, plan, (name) => {
        core.domains.markDirty(name);
        core.events.push('vm', 'defined', name, { provisionedFrom: plan.template.name, job: j.id });
      }),
    );
    return job.id;
  });
}
