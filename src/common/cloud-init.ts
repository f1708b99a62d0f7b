/**
 * cloud-init's NoCloud data, pure: the user-data (a #cloud-config document) made
 * from the fields an admin fills in, merged with free-form user-data that is
 * checked first (it must parse as YAML and have the shapes cloud-init expects for
 * the keys it names), the meta-data with a unique instance id, and an optional
 * network-config. The agent writes these as the seed ISO; the dashboard's create
 * form previews the same text, so what is shown is what is made.
 */
import { parseDocument, stringify } from 'yaml';
import { VemError } from './errors.js';

/** The user-data or another cloud-init field cannot be used; `field` names the input to change. */
export class CloudInitError extends VemError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export interface CloudInitFields {
  /** The guest's hostname (local-hostname in meta-data, hostname in user-data). */
  hostname: string;
  /** OpenSSH public keys for the image's default user (and `user`, when given). */
  sshKeys?: readonly string[];
  /** A user to create with the keys and passwordless sudo, beside the image's default user. */
  user?: string;
  /** Debian/RPM package names installed at first boot. */
  packages?: readonly string[];
  /** Shell commands run once at first boot (cloud-init's runcmd). */
  commands?: readonly string[];
  /** Free-form #cloud-config merged under the fields above (the fields win for hostname; lists are appended). */
  userData?: string;
  /** A network-config document (version 1 or 2), written as is after its check. */
  networkConfig?: string;
  /** Install the guest agent the seed carries at first boot (adds nodejs and the install command). */
  guestAgent?: boolean;
}

/** The three files of a NoCloud seed (network-config only when given). */
export interface SeedFiles {
  'meta-data': string;
  'user-data': string;
  'network-config'?: string;
}

/** Where the seed carries the guest agent and its unit, and where the first-boot command installs them. */
export const SEED_AGENT_FILE = 'vem/guest-agent.mjs';
export const SEED_AGENT_UNIT = 'vem/vem-guest-agent.service';
export const GUEST_AGENT_PATH = '/usr/local/lib/vem/guest-agent.mjs';
const AGENT_PORT = '/dev/virtio-ports/org.vemanager.guest.0';

/** The systemd unit that runs the guest agent on its virtio-serial port (Node.js 18+ in the guest). */
export function guestAgentUnit(): string {
  return [
    '[Unit]',
    'Description=ve-manager guest agent (virtio-serial org.vemanager.guest.0)',
    'ConditionPathExists=' + AGENT_PORT,
    '',
    '[Service]',
    `ExecStart=/usr/bin/env node ${GUEST_AGENT_PATH} --port ${AGENT_PORT}`,
    'Restart=always',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * The first-boot command that copies the agent off the seed and starts it: under
 * systemd as a unit, elsewhere (busybox, OpenRC without the unit) in the background.
 */
export function guestAgentInstallCommand(): string {
  return [
    'd=$(mktemp -d)',
    '(mount -o ro /dev/disk/by-label/cidata "$d" 2>/dev/null || mount -o ro -t iso9660 /dev/sr0 "$d")',
    `mkdir -p ${GUEST_AGENT_PATH.slice(0, GUEST_AGENT_PATH.lastIndexOf('/'))}`,
    `cp "$d/${SEED_AGENT_FILE}" ${GUEST_AGENT_PATH}`,
    `if command -v systemctl >/dev/null 2>&1; then cp "$d/${SEED_AGENT_UNIT}" /etc/systemd/system/; fi`,
    'umount "$d"; rmdir "$d"',
    `if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload && systemctl enable --now vem-guest-agent.service; else (node ${GUEST_AGENT_PATH} --port ${AGENT_PORT} >/var/log/vem-guest-agent.log 2>&1 &); fi`,
  ].join('; ');
}

/** Bigger than any sane cloud-config; a guard against a file given by mistake. */
export const MAX_USER_DATA = 64 * 1024;

const KEY_RE = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
const PACKAGE_RE = /^[A-Za-z0-9][A-Za-z0-9+._:~=-]*$/;

/** A hostname from a VM name: what DNS allows (letters, digits, dashes), else undefined. */
export function hostnameFor(vmName: string): string | undefined {
  const h = vmName.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return HOSTNAME_RE.test(h) ? h : undefined;
}

export function checkSshKey(key: string, field: string): string {
  const k = key.trim();
  if (!KEY_RE.test(k)) throw new CloudInitError(field, `not an OpenSSH public key (want 'ssh-ed25519 AAAA... comment', one line; got '${k.slice(0, 30)}${k.length > 30 ? '...' : ''}')`);
  return k;
}

type Shape = 'string' | 'bool' | 'list' | 'map' | 'strings' | 'commands' | 'listOfMaps';

/**
 * The shapes cloud-init's schema gives the keys an admin most often writes; a key
 * not listed is passed through (cloud-init has many modules, and `cloud-init
 * schema` on the node is the full check).
 */
const SHAPES: Record<string, Shape> = {
  hostname: 'string',
  fqdn: 'string',
  preserve_hostname: 'bool',
  manage_etc_hosts: 'bool',
  users: 'list',
  groups: 'list',
  ssh_authorized_keys: 'strings',
  ssh_pwauth: 'bool',
  disable_root: 'bool',
  packages: 'list',
  package_update: 'bool',
  package_upgrade: 'bool',
  package_reboot_if_required: 'bool',
  runcmd: 'commands',
  bootcmd: 'commands',
  write_files: 'listOfMaps',
  chpasswd: 'map',
  timezone: 'string',
  locale: 'string',
  apt: 'map',
  ntp: 'map',
  power_state: 'map',
  final_message: 'string',
};

function shapeProblem(v: unknown, shape: Shape): string | undefined {
  const isMap = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);
  switch (shape) {
    case 'string':
      return typeof v === 'string' ? undefined : 'must be a string';
    case 'bool':
      return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'map':
      return isMap(v) ? undefined : 'must be a mapping';
    case 'list':
      return Array.isArray(v) ? undefined : 'must be a list';
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'must be a list of strings';
    case 'commands':
      return Array.isArray(v) && v.every((x) => typeof x === 'string' || (Array.isArray(x) && x.every((y) => typeof y === 'string'))) ? undefined : 'must be a list of commands (each a string or a list of strings)';
    case 'listOfMaps':
      return Array.isArray(v) && v.every(isMap) ? undefined : 'must be a list of mappings';
  }
}

/**
 * Free-form user-data, checked: `#cloud-config` first, YAML that parses, a mapping
 * at the top, and the known keys in cloud-init's shapes. Returns the mapping.
 */
export function parseUserData(text: string, field = 'userData'): Record<string, unknown> {
  if (Buffer.byteLength(text) > MAX_USER_DATA) throw new CloudInitError(field, `${Buffer.byteLength(text)} bytes; user-data is limited to ${MAX_USER_DATA} bytes here`);
  const firstLine = text.replace(/^\uFEFF/, '').split('\n', 1)[0]?.trimEnd() ?? '';
  if (firstLine.startsWith('#!')) throw new CloudInitError(field, 'a shell script; only #cloud-config is accepted (put the commands under runcmd:, or give them as commands)');
  if (firstLine !== '#cloud-config') throw new CloudInitError(field, `must start with the line '#cloud-config' (it starts with '${firstLine.slice(0, 40)}')`);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new CloudInitError(field, `not valid YAML${line !== undefined ? ` at line ${line}` : ''}: ${err.message.split('\n')[0] ?? ''}`);
  }
  const v: unknown = doc.toJS();
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new CloudInitError(field, 'the document must be a mapping of cloud-init keys (hostname:, users:, runcmd:, ...)');
  const map = v as Record<string, unknown>;
  for (const [k, shape] of Object.entries(SHAPES)) {
    if (!(k in map)) continue;
    const p = shapeProblem(map[k], shape);
    if (p !== undefined) throw new CloudInitError(`${field}.${k}`, p);
  }
  const users = map['users'];
  if (Array.isArray(users)) {
    users.forEach((u, i) => {
      if (u === 'default') return;
      if (typeof u !== 'object' || u === null || Array.isArray(u) || typeof (u as Record<string, unknown>)['name'] !== 'string') throw new CloudInitError(`${field}.users[${i}]`, "must be 'default' or a mapping with a name");
      const keys = (u as Record<string, unknown>)['ssh_authorized_keys'];
      if (keys !== undefined && shapeProblem(keys, 'strings') !== undefined) throw new CloudInitError(`${field}.users[${i}].ssh_authorized_keys`, 'must be a list of strings');
    });
  }
  return map;
}

function checkNetworkConfig(text: string): void {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) throw new CloudInitError('networkConfig', `not valid YAML: ${err.message.split('\n')[0] ?? ''}`);
  const v = doc.toJS() as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CloudInitError('networkConfig', 'must be a mapping with version: 1 or 2');
  const m = v as Record<string, unknown>;
  const top = typeof m['network'] === 'object' && m['network'] !== null ? (m['network'] as Record<string, unknown>) : m;
  if (top['version'] !== 1 && top['version'] !== 2) throw new CloudInitError('networkConfig', 'must say version: 1 or version: 2');
}

/** The #cloud-config user-data for the fields: every field checked, naming the one at fault. */
export function buildUserData(f: CloudInitFields): string {
  if (!HOSTNAME_RE.test(f.hostname)) throw new CloudInitError('hostname', `'${f.hostname}' is not a hostname (letters, digits and dashes, dot-separated, at most 63 per label)`);
  const base = f.userData !== undefined && f.userData.trim() !== '' ? parseUserData(f.userData) : {};
  const keys = (f.sshKeys ?? []).map((k, i) => checkSshKey(k, `sshKeys[${i}]`));
  if (f.user !== undefined && !USER_RE.test(f.user)) throw new CloudInitError('user', `'${f.user}' is not a user name (lower-case letters, digits, '_' and '-', at most 32)`);
  (f.packages ?? []).forEach((p, i) => {
    if (!PACKAGE_RE.test(p)) throw new CloudInitError(`packages[${i}]`, `'${p}' is not a package name`);
  });
  (f.commands ?? []).forEach((c, i) => {
    if (c.trim() === '' || c.includes('\0')) throw new CloudInitError(`commands[${i}]`, 'an empty command, or one with a NUL byte');
  });
  const out: Record<string, unknown> = { ...base, hostname: f.hostname };
  if (out['fqdn'] === undefined && f.hostname.includes('.')) out['fqdn'] = f.hostname;
  if (keys.length > 0) {
    const had = Array.isArray(base['ssh_authorized_keys']) ? (base['ssh_authorized_keys'] as string[]) : [];
    out['ssh_authorized_keys'] = [...new Set([...had, ...keys])];
  }
  if (f.user !== undefined) {
    const had = Array.isArray(base['users']) ? (base['users'] as unknown[]) : ['default'];
    const user: Record<string, unknown> = { name: f.user, shell: '/bin/bash', sudo: 'ALL=(ALL) NOPASSWD:ALL', lock_passwd: true };
    if (keys.length > 0) user['ssh_authorized_keys'] = keys;
    out['users'] = [...had.filter((u) => !(typeof u === 'object' && u !== null && (u as Record<string, unknown>)['name'] === f.user)), user];
  }
  const packages = [...(f.packages ?? []), ...(f.guestAgent === true && !(f.packages ?? []).includes('nodejs') ? ['nodejs'] : [])];
  if (packages.length > 0) {
    const had = Array.isArray(base['packages']) ? (base['packages'] as unknown[]) : [];
    out['packages'] = [...had, ...packages.filter((p) => !had.includes(p))];
  }
  const commands = [...(f.guestAgent === true ? [guestAgentInstallCommand()] : []), ...(f.commands ?? [])];
  if (commands.length > 0) {
    const had = Array.isArray(base['runcmd']) ? (base['runcmd'] as unknown[]) : [];
    out['runcmd'] = [...had, ...commands];
  }
  return `#cloud-config\n${stringify(out, { lineWidth: 0 })}`;
}

/** meta-data: the instance id (a new one makes cloud-init run its first-boot modules) and the hostname. */
export function buildMetaData(instanceId: string, hostname: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(instanceId)) throw new CloudInitError('instanceId', `'${instanceId}' is not an instance id`);
  return stringify({ 'instance-id': instanceId, 'local-hostname': hostname }, { lineWidth: 0 });
}

/** The seed's files for the fields; `instanceId` must be new for each VM (the agent passes a random one). */
export function seedFiles(f: CloudInitFields, instanceId: string): SeedFiles {
  const files: SeedFiles = { 'meta-data': buildMetaData(instanceId, f.hostname), 'user-data': buildUserData(f) };
  if (f.networkConfig !== undefined && f.networkConfig.trim() !== '') {
    checkNetworkConfig(f.networkConfig);
    files['network-config'] = f.networkConfig.endsWith('\n') ? f.networkConfig : `${f.networkConfig}\n`;
  }
  return files;
}
