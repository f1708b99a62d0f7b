/**
 * Templates and provisioning, the node's side: what the node holds read into the
 * planner's view (src/agent/provision-plan.ts), and the plan carried out step by
 * step as a job (overlay, seed, definition, start), removing what it made when a
 * step fails and naming that step.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TemplateInfo } from '../api/index.js';
import type { Hypervisor, StorageVolumeInfo, VolumeRef } from '../libvirt/hypervisor.js';
import type { Job, ProvisionState } from './jobs.js';
import { planProvision, ProvisionError, volumeTemplates, type PoolView, type ProvisionNodeView, type ProvisionPlan, type RemoteTemplates } from './provision-plan.js';
import { copyVolumeData } from './volume-copy.js';
import { connectLibvirt } from '../libvirt/client/index.js';
import { seedIsoBytes, writeSeedIso } from './provision-seed.js';
import { provisionDomainXml, templateMarkOf, vmTemplateBase, type VmTemplateBase } from './provision-xml.js';
import type { ProvisionSpec } from '../api/index.js';

/**
 * The bundled guest agent on this node: $VEM_GUEST_AGENT, else guest-agent.mjs
 * beside the node agent's bundle (dist/) or two folders up from this module
 * (dist/src/agent -> dist/), else where a package would put it.
 */
export function findGuestAgentBundle(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const env = process.env['VEM_GUEST_AGENT'];
  const candidates = [...(env !== undefined && env !== '' ? [env] : []), join(here, 'guest-agent.mjs'), join(here, '..', '..', 'guest-agent.mjs'), '/usr/local/lib/vem/guest-agent.mjs', '/usr/share/vem/guest-agent.mjs'];
  return candidates.find((p) => existsSync(p));
}

export async function readPools(hv: Hypervisor): Promise<PoolView[]> {
  const pools = await hv.listPools();
  return Promise.all(
    pools.map(async (p) => ({
      name: p.name,
      state: p.state,
      available: p.available,
      ...(p.type !== undefined ? { type: p.type } : {}),
      ...(p.path !== undefined ? { path: p.path } : {}),
      volumes: p.state === 'running' ? await hv.listVolumes(p.name) : [],
    })),
  );
}

interface VmTemplates {
  templates: TemplateInfo[];
  bases: Map<string, VmTemplateBase>;
}

/**
 * The VMs marked as templates, with the pool volume of their first disk. Only
 * stopped persistent VMs are read (a mark is set on stopped VMs), so the cost is
 * one XML read per stopped VM, on demand, never per tick.
 */
async function vmTemplates(hv: Hypervisor, pools: readonly PoolView[]): Promise<VmTemplates> {
  const stopped = (await hv.listDomains({ inactive: true, active: false })).map((d) => d.name);
  const byPath = new Map<string, { pool: string; v: PoolView['volumes'][number] }>();
  for (const p of pools) for (const v of p.volumes) byPath.set(v.path, { pool: p.name, v });
  const out: VmTemplates = { templates: [], bases: new Map() };
  await Promise.all(
    stopped.map(async (name) => {
      const xml = await hv.domainXml(name, { inactive: true }).catch(() => undefined);
      if (xml === undefined) return;
      const mark = templateMarkOf(xml);
      if (!mark) return;
      const base = vmTemplateBase(xml);
      const d = base.disk;
      const found = d?.path !== undefined ? byPath.get(d.path) : d?.pool !== undefined ? { pool: d.pool, v: pools.find((p) => p.name === d.pool)?.volumes.find((v) => v.name === d.volume) } : undefined;
      if (!found?.v) return; // a template's disk must be a pool volume: an overlay needs its path and size
      out.bases.set(name, base);
      out.templates.push({
        name, kind: 'vm', pool: found.pool, volume: found.v.name, path: found.v.path, capacity: found.v.capacity, allocation: found.v.allocation,
        ...(found.v.format !== undefined ? { format: found.v.format } : {}),
        ...(mark.os !== undefined ? { os: mark.os } : {}),
        ...(hv.simulated ? { simulated: true } : {}),
      });
    }),
  );
  out.templates.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

/** template.list: the template pools' disk images, then the marked VMs. */
export async function listTemplates(hv: Hypervisor): Promise<TemplateInfo[]> {
  const pools = await readPools(hv);
  const vols = volumeTemplates(pools).map((t) => (hv.simulated ? { ...t, simulated: true } : t));
  return [...vols, ...(await vmTemplates(hv, pools)).templates];
}

/** What the planner needs, read from the node in one go. */
export async function provisionView(hv: Hypervisor, node: string): Promise<ProvisionNodeView> {
  const pools = await readPools(hv);
  const bundle = findGuestAgentBundle();
  const [vms, domains, networks, caps] = await Promise.all([vmTemplates(hv, pools), hv.listDomains(), hv.listNetworks(), hv.capabilities().catch(() => '')]);
  return {
    node,
    templates: [...volumeTemplates(pools), ...vms.templates],
    vmTemplates: vms.bases,
    pools,
    domains: new Set(domains.map((d) => d.name)),
    running: new Set(domains.filter((d) => d.id !== -1).map((d) => d.name)),
    networks: new Map(networks.map((n) => [n.name, n.active])),
    kvm: /<domain type=['"]kvm['"]/.test(caps),
    instanceId: `iid-${randomUUID()}`,
    simulated: hv.simulated,
    ...(bundle !== undefined ? { guestAgentBundle: bundle } : {}),
  };
}

/** Opens another node's libvirt (a template held there); tests give their own. */
export type OpenNode = (uri: string) => Promise<Hypervisor>;
const openNode: OpenNode = (uri) => connectLibvirt(uri, { timeoutMs: 20_000 });

async function withNode<T>(uri: string, open: OpenNode, fn: (hv: Hypervisor) => Promise<T>): Promise<T> {
  let hv: Hypervisor;
  try {
    hv = await open(uri);
  } catch (e) {
    throw new ProvisionError('templateUri', `cannot reach the template's node at ${uri}: ${(e as Error).message}`);
  }
  try {
    return await fn(hv);
  } finally {
    await hv.close().catch(() => undefined);
  }
}

/** The templates of the node at `uri`, read once for planning (the copy opens it again). */
async function remoteTemplates(uri: string, open: OpenNode): Promise<RemoteTemplates> {
  return withNode(uri, open, async (hv) => {
    const pools = await readPools(hv);
    const [vms, host] = await Promise.all([vmTemplates(hv, pools), hv.hostInfo()]);
    return { uri, node: host.hostname, templates: [...volumeTemplates(pools), ...vms.templates], vmTemplates: vms.bases, pools };
  });
}

export async function prepareProvision(hv: Hypervisor, node: string, spec: ProvisionSpec, open: OpenNode = openNode): Promise<ProvisionPlan> {
  const view = await provisionView(hv, node);
  if (spec.templateUri !== undefined) view.remote = await remoteTemplates(spec.templateUri, open);
  return planProvision(spec, view);
}

/** The job's state before the first step. */
export function provisionState(plan: ProvisionPlan): ProvisionState {
  return {
    name: plan.name,
    template: plan.template.name,
    steps: [
      { step: 'disk', done: false },
      { step: 'seed', done: false },
      { step: 'define', done: false },
      ...(plan.start ? [{ step: 'start' as const, done: false }] : []),
    ],
    disk: {
      pool: plan.disk.pool, volume: plan.disk.volume, capacity: plan.disk.capacity,
      ...(plan.disk.copyFrom ? { copiedFrom: `${plan.disk.copyFrom.node !== undefined ? `${plan.disk.copyFrom.node}:` : ''}${plan.disk.copyFrom.pool}/${plan.disk.copyFrom.volume}` } : { backing: plan.template.path }),
    },
    seed: { pool: plan.seed.pool, volume: plan.seed.volume },
    start: plan.start,
  };
}

/** Writes the seed into the pool: the node's ISO tool into the pool's folder, or (SIMULATED) a volume of the ISO's size. */
async function makeSeed(hv: Hypervisor, plan: ProvisionPlan): Promise<{ tool: string; path: string }> {
  if (hv.simulated) {
    const v = await hv.createVolume(plan.seed.pool, `<volume><name>${plan.seed.volume}</name><capacity unit='bytes'>${seedIsoBytes(plan.files, plan.agent !== undefined)}</capacity><target><format type='iso'/></target></volume>`);
    return { tool: 'SIMULATED', path: v.path };
  }
  if (plan.seed.dir === undefined) throw new Error(`pool ${plan.seed.pool} has no folder to write the seed into`);
  const tool = await writeSeedIso(plan.seed.dir, plan.seed.volume, plan.files, plan.agent);
  await hv.poolRefresh(plan.seed.pool);
  const v = (await hv.listVolumes(plan.seed.pool)).find((x) => x.name === plan.seed.volume);
  if (!v) throw new Error(`wrote ${join(plan.seed.dir, plan.seed.volume)} but pool ${plan.seed.pool} does not list it after a refresh`);
  return { tool, path: v.path };
}

interface DiskWatch {
  made(): void;
  copied(bytes: number): void;
  cancelled(): boolean;
}

/**
 * The overlay; or the full copy (libvirt's on this node, or the template's bytes from the node
 * holding it), grown to the size asked, since either copy keeps the template's size.
 */
async function makeDisk(hv: Hypervisor, plan: ProvisionPlan, open: OpenNode, w: DiskWatch): Promise<StorageVolumeInfo> {
  const { pool, volume, capacity, xml, copyFrom } = plan.disk;
  if (!copyFrom) {
    const v = await hv.createVolume(pool, xml);
    w.made();
    return v;
  }
  let v: StorageVolumeInfo;
  if (copyFrom.uri === undefined) {
    v = await hv.cloneVolume(pool, xml, copyFrom);
    w.made();
  } else {
    await hv.createVolume(pool, xml);
    w.made();
    await withNode(copyFrom.uri, open, (src) => copyVolumeData(src, copyFrom, hv, { pool, volume }, { onBytes: (n) => w.copied(n), cancelled: () => w.cancelled() }));
    // The upload replaced the file: libvirt learns its size and allocation again.
    await hv.poolRefresh(pool);
    const found = (await hv.listVolumes(pool)).find((x) => x.name === volume);
    if (!found) throw new Error(`pool ${pool} no longer lists ${volume} after the copy`);
    v = found;
  }
  return v.capacity < capacity ? hv.resizeVolume(pool, volume, capacity) : v;
}

/**
 * Carries the plan out. Each step marks itself done; on a failure the job names
 * the step, and what the earlier steps made is removed (definition, seed,
 * overlay), so a failed provisioning leaves nothing behind. The template is only
 * ever read (the overlay's backing file, or the copy's source).
 */
export async function runProvision(hv: Hypervisor, job: Job, plan: ProvisionPlan, onDefined: (name: string) => void, open: OpenNode = openNode): Promise<void> {
  const st = job.provision;
  if (!st) throw new Error('a provisioning job without its state');
  const made: VolumeRef[] = [];
  let defined = false;
  let step: ProvisionState['steps'][number] | undefined;
  const begin = (name: ProvisionState['steps'][number]['step']): void => {
    // The step about to start is the one a cancel stops, not the one that just succeeded.
    step = st.steps.find((s) => s.step === name);
    if (job.cancelRequested) throw new Error('cancelled; what was made is removed');
  };
  try {
    begin('disk');
    let copied = 0;
    const src = plan.disk.copyFrom;
    const disk = await makeDisk(hv, plan, open, {
      made: () => made.push({ pool: plan.disk.pool, volume: plan.disk.volume }),
      copied: (n) => {
        copied = n;
        if (step) step.detail = `copying ${plan.template.name} from ${src?.node ?? '?'}: ${n} bytes`;
      },
      cancelled: () => job.cancelRequested,
    });
    const whence = src?.uri !== undefined ? ` from ${src.node ?? src.uri} (${copied} bytes sent)` : '';
    if (step) Object.assign(step, { done: true, detail: src ? `${disk.path}, a full copy of ${plan.template.name}${whence} (${disk.capacity} bytes)` : disk.path });
    begin('seed');
    const seed = await makeSeed(hv, plan);
    made.push({ pool: plan.seed.pool, volume: plan.seed.volume });
    st.seed.tool = seed.tool;
    if (step) Object.assign(step, { done: true, detail: `label cidata, written by ${seed.tool}${plan.agent ? ', with the guest agent' : ''}` });
    begin('define');
    await hv.defineDomain(provisionDomainXml(plan.domain, { disk: disk.path, seed: seed.path }));
    defined = true;
    onDefined(plan.name);
    if (step) step.done = true;
    if (plan.start) {
      begin('start');
      await hv.start(plan.name);
      if (step) step.done = true;
    }
  } catch (e) {
    const failed = step?.step ?? 'disk';
    st.failedStep = failed;
    if (defined) await hv.destroy(plan.name).catch(() => undefined);
    if (defined) await hv.undefineDomain(plan.name).catch(() => undefined);
    for (const v of made.reverse()) await hv.deleteVolume(v.pool, v.volume).catch(() => undefined);
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`step ${failed} failed: ${msg}; removed what was made (${[...(defined ? ['definition'] : []), ...made.map((v) => `${v.pool}/${v.volume}`)].join(', ') || 'nothing yet'})`, { cause: e });
  }
}
