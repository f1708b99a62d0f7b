/**
 * The create form's "from template" part, pure: the template, disk, pool and
 * cloud-init fields checked against the node's templates and pools, the
 * vm.provision request they become, and the user-data preview (made by the same
 * module the agent writes the seed with, so what is shown is what is made).
 * Every problem names the form's field; the agent's own refusals are mapped back
 * to the same fields (agentFieldError).
 */
import type { ProvisionSpec, TemplateInfo } from '../../api/index.js';
import { buildUserData, CloudInitError, hostnameFor } from '../../common/cloud-init.js';
import type { PoolRow, VolumeRow } from '../store/manage-decode.js';
import { fmtGiB, parseSize, type FieldError } from './manage-validate.js';

/** What the node's template.list said, or why it could not be read. */
export interface TemplateFacts {
  templates?: readonly TemplateInfo[];
  error?: string;
}

/** The form's files on the jump host, read by the command layer (manage-provision.ts). */
export interface LocalInputs {
  /** The OpenSSH public keys of the "ssh key" field (its file's lines, or the key typed). */
  sshKeys: string[];
  userData?: string;
  /** Problems reading them, by form field. */
  errors: FieldError[];
}

export interface TemplateInput {
  name: string;
  template: string;
  diskPool: string;
  diskSize: string;
  hostname: string;
  user: string;
  packages: string;
  guestAgent: string;
}

export interface TemplateChoice {
  spec: ProvisionSpec;
  template: TemplateInfo;
}

/** The overlay and the seed need this much room in their pool at least (as the agent's planner asks). */
export const MIN_POOL_FREE_BYTES = 8 * 1024 * 1024;

/** vm.provision's field names (and cloud-init's) -> the create form's. */
const FORM_FIELD: Array<[RegExp, string]> = [
  [/^name$/, 'name'],
  [/^template$/, 'template'],
  [/^diskBytes$/, 'disk size'],
  [/^pool$/, 'disk pool'],
  [/^networks(\[\d+\])?$/, 'network'],
  [/^vcpus$/, 'vcpus'],
  [/^memoryMiB$/, 'memory'],
  [/^virtType$/, 'type'],
  [/^hostname$/, 'hostname'],
  [/^sshKeys(\[\d+\])?$/, 'ssh key'],
  [/^user$/, 'user'],
  [/^packages(\[\d+\])?$/, 'packages'],
  [/^userData(\..*)?$/, 'user-data'],
  [/^guestAgent$/, 'guest agent'],
];

/** The form field an agent or cloud-init field name stands for, if any. */
export function formFieldOf(field: string): string | undefined {
  return FORM_FIELD.find(([re]) => re.test(field))?.[1];
}

/** The form's label of a field, as its messages start. */
const LABEL: Record<string, string> = { 'disk size': 'disk size', 'disk pool': 'disk pool', 'ssh key': 'SSH key', 'user-data': 'user-data', 'guest agent': 'guest agent' };

/**
 * An agent's refusal of vm.provision ("diskBytes: ... smaller than the template")
 * as the form's field error; one naming no field of the form stays under the button.
 */
export function agentFieldError(message: string): FieldError {
  const m = /^([A-Za-z]+(?:\[\d+\])?(?:\.[\w[\]]+)*): ([\s\S]*)$/.exec(message);
  const field = m?.[1] !== undefined ? formFieldOf(m[1]) : undefined;
  if (!m || field === undefined) return { field: 'libvirt', message };
  return { field, message: `${LABEL[field] ?? field}: ${m[2] ?? ''} (refused by the node, nothing was made)` };
}

/** yes/no; empty is yes (the guest agent comes with a provisioned VM unless left out). */
function yesNo(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  if (t === '' || t === 'y' || t === 'yes' || t === 'true') return true;
  if (t === 'n' || t === 'no' || t === 'false') return false;
  return undefined;
}

/** The template the form names: one of template.list, else any volume as POOL/VOLUME (as the agent resolves it). */
function resolveTemplate(ref: string, node: string, tf: TemplateFacts, pools: readonly PoolRow[], volumes: ReadonlyMap<string, VolumeRow[]>): TemplateInfo | string {
  const known = tf.templates ?? [];
  const list = known.map((t) => t.name).join(', ') || 'none';
  if (ref === '') return `template: which one? (${node} has: ${list})`;
  const t = known.find((x) => x.name === ref);
  if (t) return t;
  const slash = ref.indexOf('/');
  if (slash > 0) {
    const pool = ref.slice(0, slash);
    const vol = ref.slice(slash + 1);
    if (!pools.some((p) => p.name === pool)) return `template: no pool '${pool}' on ${node} (pools: ${pools.map((p) => p.name).join(', ') || 'none'})`;
    const v = volumes.get(pool)?.find((x) => x.name === vol);
    if (!v) return `template: pool ${pool} on ${node} has no volume '${vol}'`;
    return { name: ref, kind: 'volume', pool, volume: v.name, path: v.path, capacity: v.capacity, allocation: v.allocation, ...(v.format !== '' ? { format: v.format } : {}) };
  }
  if (tf.error !== undefined) return `template: ${node}'s templates could not be read (${tf.error}); give the disk image as POOL/VOLUME`;
  return `template: no template '${ref}' on ${node} (templates: ${list}; or any volume as POOL/VOLUME)`;
}

/** The packages field: names split on commas and spaces. */
export function packageList(text: string): string[] {
  return text.split(/[\s,]+/).filter((p) => p !== '');
}

/**
 * The template part of the form, checked: every problem pushed through `err` with
 * its field. The checks that are the same for any VM (name syntax, vCPUs, memory,
 * network, start, type) are the create form's; `base` carries their results.
 */
export function checkTemplate(
  i: TemplateInput,
  f: { node: string; vmNames: readonly string[]; pools: readonly PoolRow[]; volumes: ReadonlyMap<string, VolumeRow[]> },
  tf: TemplateFacts,
  local: LocalInputs,
  base: { nameOk: boolean; vcpus: number; memoryMiB: number; network: string | undefined; start: boolean; virtType: 'kvm' | 'qemu' },
  err: (field: string, message: string) => void,
): { choice?: TemplateChoice; userData?: string } {
  const name = i.name.trim();
  let problems = 0;
  const e = (field: string, message: string): void => {
    problems++;
    err(field, message);
  };
  const t = resolveTemplate(i.template.trim(), f.node, tf, f.pools, f.volumes);
  if (typeof t === 'string') e('template', t);
  else if (t.format === 'iso' || /\.iso$/i.test(t.volume)) e('template', `template: ${t.name} is an ISO image; a template is a disk image (qcow2 or raw)`);
  const tmpl = typeof t === 'string' ? undefined : t;

  let diskBytes: number | undefined;
  if (i.diskSize.trim() === '') diskBytes = tmpl?.capacity;
  else {
    diskBytes = parseSize(i.diskSize);
    if (diskBytes === undefined) e('disk size', `disk size: '${i.diskSize}' is not a size (e.g. 20G; empty: the template's size)`);
    else if (tmpl && diskBytes < tmpl.capacity) e('disk size', `disk size: ${i.diskSize.trim()} is smaller than the template's ${fmtGiB(tmpl.capacity)}; a disk can only grow`);
  }

  const poolName = i.diskPool.trim() || tmpl?.pool || '';
  const pool = f.pools.find((p) => p.name === poolName);
  if (poolName === '') {
    if (tmpl) e('disk pool', 'disk pool: which pool for the overlay and the seed?');
  } else if (!pool) e('disk pool', `disk pool: no pool '${poolName}' on ${f.node} (${f.pools.map((p) => p.name).join(', ') || 'none'})`);
  else if (pool.state !== 'running') e('disk pool', `disk pool: ${pool.name} is ${pool.state}, not running`);
  else if (pool.type !== '' && !['dir', 'fs', 'netfs'].includes(pool.type)) e('disk pool', `disk pool: ${pool.name} is a ${pool.type} pool; the overlay and the seed ISO go into a directory pool`);
  else if (pool.available < MIN_POOL_FREE_BYTES) e('disk pool', `disk pool: ${pool.name} is full (${Math.floor(pool.available / 1024 ** 2)} MiB available); the overlay and the seed need at least ${MIN_POOL_FREE_BYTES / 1024 ** 2} MiB`);
  if (pool && base.nameOk) {
    for (const v of [`${name}.qcow2`, `${name}-seed.iso`]) {
      if (f.volumes.get(pool.name)?.some((x) => x.name === v)) e('name', `name: pool ${pool.name} already has a volume '${v}' (left from an earlier VM?); delete it or choose another name`);
    }
  }

  for (const x of local.errors) e(x.field, x.message);
  const hostname = i.hostname.trim() || (base.nameOk ? hostnameFor(name) : undefined);
  if (hostname === undefined && base.nameOk) e('hostname', `hostname: none can be made from '${name}'; give one`);
  const packages = packageList(i.packages);
  const user = i.user.trim();
  const agent = yesNo(i.guestAgent);
  if (agent === undefined) e('guest agent', `guest agent: '${i.guestAgent}' is not yes or no`);

  let userData: string | undefined;
  if (hostname !== undefined && local.errors.length === 0) {
    try {
      userData = buildUserData({
        hostname,
        sshKeys: local.sshKeys,
        packages,
        ...(user !== '' ? { user } : {}),
        ...(local.userData !== undefined ? { userData: local.userData } : {}),
        guestAgent: agent !== false,
      });
    } catch (x) {
      if (!(x instanceof CloudInitError)) throw x;
      const field = formFieldOf(x.field) ?? 'user-data';
      e(field, `${LABEL[field] ?? field}: ${x.message.slice(x.field.length + 2)}${x.field.includes('.') ? ` (at ${x.field.replace(/^userData\.?/, '')})` : ''}`);
    }
  }
  if (problems > 0 || !tmpl || diskBytes === undefined || hostname === undefined) return userData !== undefined ? { userData } : {};
  const spec: ProvisionSpec = {
    name,
    template: tmpl.name,
    vcpus: base.vcpus,
    memoryMiB: base.memoryMiB,
    diskBytes,
    pool: poolName,
    networks: base.network !== undefined ? [base.network] : [],
    virtType: base.virtType,
    hostname,
    start: base.start,
    guestAgent: agent !== false,
  };
  if (local.sshKeys.length > 0) spec.sshKeys = local.sshKeys;
  if (user !== '') spec.user = user;
  if (packages.length > 0) spec.packages = packages;
  if (local.userData !== undefined) spec.userData = local.userData;
  return { choice: { spec, template: tmpl }, ...(userData !== undefined ? { userData } : {}) };
}
