/**
 * Provisioning, planned (pure): a vm.provision request checked against what the
 * node holds, every refusal naming the field to change, before anything is made;
 * then the names, sizes, seed files and domain XML of what will be made. The agent
 * supplies the node's view (src/agent/provision.ts) and carries the plan out.
 */
import type { ProvisionSpec, TemplateInfo } from '../api/index.js';
import { CloudInitError, guestAgentUnit, hostnameFor, seedFiles, type SeedFiles } from '../common/cloud-init.js';
import { VemError } from '../common/errors.js';
import { copyVolumeXml, overlayVolumeXml, type DomainPlan, type VmTemplateBase } from './provision-xml.js';

/** The request cannot be carried out as given; `field` names the input to change. */
export class ProvisionError extends VemError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export interface PoolView {
  name: string;
  state: string;
  type?: string;
  path?: string;
  available: number;
  volumes: ReadonlyArray<{ name: string; path: string; capacity: number; allocation: number; format?: string; backing?: string }>;
}

/** What planning needs of the node. */
export interface ProvisionNodeView {
  node: string;
  templates: readonly TemplateInfo[];
  /** VM templates' boot settings, by template name. */
  vmTemplates: ReadonlyMap<string, VmTemplateBase>;
  /** VMs running now (a marked VM that runs is no template until it is stopped). */
  running: ReadonlySet<string>;
  pools: readonly PoolView[];
  domains: ReadonlySet<string>;
  /** Networks by name, and whether each is running. */
  networks: ReadonlyMap<string, boolean>;
  /** The node offers kvm for x86_64 guests. */
  kvm: boolean;
  /** A new cloud-init instance id (random). */
  instanceId: string;
  /** The guest agent bundle on this node, if there is one. */
  guestAgentBundle?: string;
  /** A SIMULATED node: its seed is a volume of the right size, no file needs to exist. */
  simulated?: boolean;
  /** The node holding the template when it is another one (spec.templateUri), as read from there. */
  remote?: RemoteTemplates;
}

/** Another node's templates, read over its libvirt URI: the template is copied from there first. */
export interface RemoteTemplates {
  uri: string;
  node: string;
  templates: readonly TemplateInfo[];
  vmTemplates: ReadonlyMap<string, VmTemplateBase>;
  pools: readonly PoolView[];
}

export interface ProvisionPlan {
  name: string;
  template: TemplateInfo;
  /** The new disk: an overlay on the template, or (copyFrom) a full copy of it grown to `capacity`. */
  disk: { pool: string; volume: string; capacity: number; xml: string; copyFrom?: { pool: string; volume: string; uri?: string; node?: string } };
  seed: { pool: string; volume: string; dir: string | undefined };
  files: SeedFiles;
  /** The guest agent the seed carries (its bundle on the node, and the unit's text), unless left out. */
  agent?: { bundle: string; unit: string };
  /** The domain, written once the overlay and seed paths are known (provisionDomainXml). */
  domain: DomainPlan;
  start: boolean;
  instanceId: string;
  networks: string[];
}

/** The overlay and seed need this much room at least; the overlay then grows as the guest writes. */
export const MIN_FREE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_VCPUS = 1;
export const DEFAULT_MEMORY_MIB = 1024;

/** libvirt's rules for a domain name, plus ours: no '/', no leading dash, no control characters or surrounding spaces. */
export function checkVmName(name: string, field = 'name'): void {
  if (name === '' || name.length > 200) throw new ProvisionError(field, 'a VM needs a name of 1 to 200 characters');
  if (name.includes('/')) throw new ProvisionError(field, `'${name}' contains '/', which libvirt refuses`);
  if (name !== name.trim() || name.startsWith('-') || [...name].some((ch) => ch.charCodeAt(0) < 0x20)) throw new ProvisionError(field, `'${name}' has leading/trailing spaces, a leading dash or control characters`);
}

/** A guess at the OS of a cloud image from its file name (debian-12-genericcloud-amd64.qcow2 -> debian-12). */
export function osLabelFromName(volume: string): string | undefined {
  const m = /(debian|ubuntu|rocky|alma(?:linux)?|centos|fedora|alpine|opensuse|arch|freebsd|cirros)[-_ ]?(\d+(?:\.\d+)*)?/i.exec(volume);
  if (!m?.[1]) return undefined;
  return `${m[1].toLowerCase()}${m[2] !== undefined ? `-${m[2]}` : ''}`;
}

/** A pool whose volumes are listed as templates. */
export function isTemplatePool(pool: string): boolean {
  return pool === 'templates' || pool.endsWith('-templates');
}

/** The node's volume templates: every disk image in a template pool. */
export function volumeTemplates(pools: readonly PoolView[]): TemplateInfo[] {
  const out: TemplateInfo[] = [];
  for (const p of pools) {
    if (!isTemplatePool(p.name) || p.state !== 'running') continue;
    for (const v of p.volumes) {
      if (v.format === 'iso' || /\.iso$/i.test(v.name)) continue;
      out.push(volumeTemplate(p.name, v));
    }
  }
  return out;
}

function volumeTemplate(pool: string, v: PoolView['volumes'][number]): TemplateInfo {
  const os = osLabelFromName(v.name);
  return { name: `${pool}/${v.name}`, kind: 'volume', pool, volume: v.name, path: v.path, capacity: v.capacity, allocation: v.allocation, ...(v.format !== undefined ? { format: v.format } : {}), ...(os !== undefined ? { os } : {}) };
}

function resolveTemplate(spec: ProvisionSpec, node: ProvisionNodeView): TemplateInfo {
  const byName = node.templates.find((t) => t.name === spec.template);
  if (byName) return byName;
  const slash = spec.template.indexOf('/');
  if (slash > 0) {
    const poolName = spec.template.slice(0, slash);
    const volName = spec.template.slice(slash + 1);
    const pool = node.pools.find((p) => p.name === poolName);
    if (!pool) throw new ProvisionError('template', `no pool '${poolName}' on ${node.node} (pools: ${node.pools.map((p) => p.name).join(', ') || 'none'})`);
    const v = pool.volumes.find((x) => x.name === volName);
    if (!v) throw new ProvisionError('template', `pool ${poolName} on ${node.node} has no volume '${volName}'`);
    return volumeTemplate(poolName, v);
  }
  if (node.running.has(spec.template)) throw new ProvisionError('template', `${spec.template} is a running VM; a template is a stopped VM marked with vm.template.mark (its disk must not change under the overlays)`);
  const known = node.templates.map((t) => t.name);
  throw new ProvisionError('template', `no template '${spec.template}' on ${node.node} (templates: ${known.join(', ') || 'none'}; or give any volume as POOL/VOLUME)`);
}

function positiveInt(v: number | undefined, field: string, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new ProvisionError(field, `must be a whole number from 1 to ${max}, got ${v}`);
  return v;
}

const OPTION_KEYS = new Set(['name', 'template', 'vcpus', 'memoryMiB', 'diskBytes', 'pool', 'networks', 'virtType', 'kernel', 'initrd', 'cmdline', 'hostname', 'sshKeys', 'user', 'packages', 'commands', 'userData', 'networkConfig', 'guestAgent', 'start', 'fullCopy', 'templateUri']);

/** Checks the request against the node and plans what to make; throws ProvisionError naming the field. */
export function planProvision(spec: ProvisionSpec, node: ProvisionNodeView): ProvisionPlan {
  for (const k of Object.keys(spec)) if (!OPTION_KEYS.has(k)) throw new ProvisionError(k, `unknown field (known: ${[...OPTION_KEYS].join(', ')})`);
  checkVmName(spec.name);
  if (node.domains.has(spec.name)) throw new ProvisionError('name', `a VM named '${spec.name}' exists on ${node.node} already`);
  const remote = spec.templateUri !== undefined ? node.remote : undefined;
  if (spec.templateUri !== undefined && remote === undefined) throw new ProvisionError('templateUri', `the templates at ${spec.templateUri} were not read`);
  const from = remote ? { ...node, node: remote.node, templates: remote.templates, pools: remote.pools, running: new Set<string>() } : node;
  const t = resolveTemplate(spec, from);
  if (t.format === 'iso') throw new ProvisionError('template', `${t.name} is an ISO image; a template is a disk image (qcow2 or raw)`);
  // Another node's template travels as its file's bytes, so the copy keeps its format.
  const srcFormat = t.format ?? 'raw';
  if (remote && srcFormat !== 'qcow2' && srcFormat !== 'raw') throw new ProvisionError('template', `${t.name} on ${remote.node} is ${srcFormat}; only qcow2 and raw templates are copied between nodes`);
  const copyFormat: 'qcow2' | 'raw' = remote && srcFormat === 'raw' ? 'raw' : 'qcow2';
  // Its bytes would name a backing file that exists only there.
  const backing = remote?.pools.find((p) => p.name === t.pool)?.volumes.find((v) => v.name === t.volume)?.backing;
  if (remote && backing !== undefined) throw new ProvisionError('template', `${t.name} on ${remote.node} is an overlay on ${backing}; only a self-contained image can be copied between nodes (flatten it there first: qemu-img convert, or vem vm create --full-copy on ${remote.node})`);
  const base: VmTemplateBase = (t.kind === 'vm' ? (remote?.vmTemplates ?? node.vmTemplates).get(t.name) : undefined) ?? {};
  const capacity = spec.diskBytes ?? t.capacity;
  if (!Number.isFinite(capacity) || capacity <= 0) throw new ProvisionError('diskBytes', `must be a positive number of bytes, got ${capacity}`);
  if (capacity < t.capacity) throw new ProvisionError('diskBytes', `${capacity} bytes is smaller than the template ${t.name} (${t.capacity} bytes); a disk can only grow`);
  const poolName = spec.pool ?? t.pool;
  const pool = node.pools.find((p) => p.name === poolName);
  if (!pool) throw new ProvisionError('pool', `no pool '${poolName}' on ${node.node}${remote && spec.pool === undefined ? ` (the template's pool on ${remote.node}; give pool)` : ''}`);
  if (pool.state !== 'running') throw new ProvisionError('pool', `pool ${poolName} is ${pool.state}; start it first`);
  const dirPool = pool.type === undefined || ['dir', 'fs', 'netfs'].includes(pool.type);
  if (!dirPool || pool.path === undefined) throw new ProvisionError('pool', `pool ${poolName} is a ${pool.type ?? '?'} pool; the overlay and the seed ISO go into a directory pool (give pool)`);
  if (pool.available < MIN_FREE_BYTES) throw new ProvisionError('pool', `pool ${poolName} is full: ${pool.available} bytes available, the overlay and the seed need at least ${MIN_FREE_BYTES}`);
  const fullCopy = spec.fullCopy === true || remote !== undefined;
  // A copy takes the template's data at once (its allocation; a raw image sent between nodes arrives
  // whole, holes included), where an overlay starts empty.
  const copyBytes = remote && copyFormat === 'raw' ? t.capacity : t.allocation;
  if (fullCopy && pool.available < copyBytes + MIN_FREE_BYTES) {
    const field = remote ? 'pool' : 'fullCopy';
    throw new ProvisionError(field, `pool ${poolName} has ${pool.available} bytes available; a full copy of ${t.name}${remote ? ` from ${remote.node}` : ''} needs ${copyBytes + MIN_FREE_BYTES} (its ${copyBytes} bytes of data and the seed); free room or give another pool${remote ? '' : ', or leave fullCopy out for an overlay'}`);
  }
  const diskName = `${spec.name}.${copyFormat === 'raw' ? 'img' : 'qcow2'}`;
  const seedName = `${spec.name}-seed.iso`;
  for (const v of [diskName, seedName]) {
    if (pool.volumes.some((x) => x.name === v)) throw new ProvisionError('name', `pool ${poolName} already has a volume '${v}' (left from an earlier VM?); delete it or choose another name`);
  }
  const networks = spec.networks ?? (node.networks.get('default') === true ? ['default'] : []);
  networks.forEach((n, i) => {
    const up = node.networks.get(n);
    if (up === undefined) throw new ProvisionError(`networks[${i}]`, `no network '${n}' on ${node.node} (networks: ${[...node.networks.keys()].join(', ') || 'none'})`);
    if (!up) throw new ProvisionError(`networks[${i}]`, `network ${n} is not running on ${node.node}; start it first`);
  });
  const vcpus = positiveInt(spec.vcpus, 'vcpus', base.vcpus ?? DEFAULT_VCPUS, 512);
  const memoryMiB = positiveInt(spec.memoryMiB, 'memoryMiB', base.memoryMiB ?? DEFAULT_MEMORY_MIB, 16 * 1024 * 1024);
  const virtType = spec.virtType ?? (base.virtType === 'qemu' || base.virtType === 'kvm' ? base.virtType : node.kvm ? 'kvm' : 'qemu');
  if (virtType === 'kvm' && !node.kvm) throw new ProvisionError('virtType', `${node.node} offers no kvm guests; use qemu (emulated)`);
  if (spec.initrd !== undefined && spec.kernel === undefined && base.kernel === undefined) throw new ProvisionError('initrd', 'an initrd needs a kernel');
  const withAgent = spec.guestAgent ?? true;
  if (withAgent && node.guestAgentBundle === undefined && node.simulated !== true) {
    throw new ProvisionError('guestAgent', `${node.node} has no guest agent bundle to put in the seed (npm run bundle:guest-agent makes dist/guest-agent.mjs beside the agent; or set VEM_GUEST_AGENT); or leave it out with guestAgent: false`);
  }
  const hostname = spec.hostname ?? hostnameFor(spec.name);
  if (hostname === undefined) throw new ProvisionError('hostname', `no hostname can be made from '${spec.name}'; give one`);
  let files: SeedFiles;
  try {
    files = seedFiles(
      {
        hostname,
        ...(spec.sshKeys !== undefined ? { sshKeys: spec.sshKeys } : {}),
        ...(spec.user !== undefined ? { user: spec.user } : {}),
        ...(spec.packages !== undefined ? { packages: spec.packages } : {}),
        ...(spec.commands !== undefined ? { commands: spec.commands } : {}),
        ...(spec.userData !== undefined ? { userData: spec.userData } : {}),
        ...(spec.networkConfig !== undefined ? { networkConfig: spec.networkConfig } : {}),
        guestAgent: withAgent,
      },
      node.instanceId,
    );
  } catch (e) {
    if (e instanceof CloudInitError) throw new ProvisionError(e.field, e.message.slice(e.field.length + 2));
    throw e;
  }
  const kernel = spec.kernel ?? base.kernel;
  const initrd = spec.initrd ?? (spec.kernel === undefined ? base.initrd : undefined);
  const cmdline = spec.cmdline ?? (spec.kernel === undefined ? base.cmdline : undefined);
  const dp: DomainPlan = {
    name: spec.name, virtType, vcpus, memoryMiB,
    networks, template: t.name, instanceId: node.instanceId,
    ...(base.arch !== undefined ? { arch: base.arch } : {}),
    ...(base.machine !== undefined ? { machine: base.machine } : {}),
    ...(kernel !== undefined ? { kernel } : {}),
    ...(initrd !== undefined ? { initrd } : {}),
    ...(cmdline !== undefined ? { cmdline } : {}),
  };
  return {
    name: spec.name,
    template: t,
    disk: remote
      ? { pool: poolName, volume: diskName, capacity, xml: copyVolumeXml(diskName, t.capacity, copyFormat), copyFrom: { pool: t.pool, volume: t.volume, uri: remote.uri, node: remote.node } }
      : fullCopy
      ? { pool: poolName, volume: diskName, capacity, xml: copyVolumeXml(diskName, capacity), copyFrom: { pool: t.pool, volume: t.volume } }
      : { pool: poolName, volume: diskName, capacity, xml: overlayVolumeXml(diskName, capacity, t.path, t.format ?? 'raw') },
    seed: { pool: poolName, volume: seedName, dir: pool.path },
    files,
    ...(withAgent ? { agent: { bundle: node.guestAgentBundle ?? 'SIMULATED', unit: guestAgentUnit() } } : {}),
    domain: dp,
    start: spec.start ?? true,
    instanceId: node.instanceId,
    networks,
  };
}
