/** Templates and provisioning: template.list, vm.template.mark/unmark, vm.provision (a job). */
import { isStruct, type XmlRpcValue } from '../common/xmlrpc/value.js';
import { method } from './method.js';
import { array, bool, double, literal, opt, string, struct, type Infer } from './schema.js';

const optStr = opt(string);

export const templateInfo = struct({
  /** How vm.provision names it: POOL/VOLUME for a volume, the VM's name for a VM template. */
  name: string,
  kind: literal('volume', 'vm'),
  /** An OS label (the mark's, or guessed from the volume's name: debian-12, ubuntu-24.04, ...). */
  os: optStr,
  /** The disk the new VMs are overlays of. */
  pool: string,
  volume: string,
  path: string,
  format: optStr,
  /** Bytes as the guest sees the disk: the smallest disk a VM made from it may have. */
  capacity: double,
  allocation: double,
  /** A SIMULATED node's template (vem demo). */
  simulated: opt(bool),
});
export type TemplateInfo = Infer<typeof templateInfo>;

export const templateMarkOptions = struct({ os: optStr });

export const provisionSpec = struct({
  /** The new VM's name. */
  name: string,
  /** POOL/VOLUME, or a VM marked as a template, as template.list names it. */
  template: string,
  vcpus: opt(double),
  memoryMiB: opt(double),
  /** Bytes; at least the template's capacity (default: the template's). */
  diskBytes: opt(double),
  /** The pool for the overlay and the seed (default: the template's; a directory pool). */
  pool: optStr,
  /** libvirt networks, one NIC each (default: 'default' when the node has it running, else none). */
  networks: opt(array(string)),
  /** kvm or qemu (default: the template VM's, else kvm when the node offers it). */
  virtType: opt(literal('kvm', 'qemu')),
  /** Direct kernel boot (images that ship their kernel beside the disk), as paths on the node. */
  kernel: optStr,
  initrd: optStr,
  cmdline: optStr,
  hostname: optStr,
  sshKeys: opt(array(string)),
  user: optStr,
  packages: opt(array(string)),
  commands: opt(array(string)),
  /** Free-form #cloud-config, checked before anything is made. */
  userData: optStr,
  networkConfig: optStr,
  /** Carry the bundled ve-manager guest agent and its unit in the seed, installed at first boot (default true). */
  guestAgent: opt(bool),
  /** Start the VM once defined (default true). */
  start: opt(bool),
  /** A full copy of the template instead of an overlay on it: the VM no longer needs the template, at the cost of the template's size in the pool (default false). */
  fullCopy: opt(bool),
  /**
   * The libvirt URI of another node holding the template (as a migration's target URI, e.g.
   * qemu+tcp://host/system): this node's agent reads the template there and copies its data here
   * first, as a full copy. The template's pool must exist here too, or give pool.
   */
  templateUri: optStr,
});
export type ProvisionSpec = Infer<typeof provisionSpec>;

/** Free-form user-data may hold password hashes or tokens: the audit log keeps its size, not its text. */
function redactUserData(params: XmlRpcValue[]): XmlRpcValue[] {
  return params.map((p) => (isStruct(p) && typeof p['userData'] === 'string' ? { ...p, userData: `(${Buffer.byteLength(p['userData'])} bytes of user-data, not logged)` } : p));
}

export const template = {
  list: method({
    name: 'template.list',
    help:
      'The node\'s templates: [{name, kind: volume|vm, os, pool, volume, path, format, capacity, allocation}]. ' +
      'A volume template is a volume of a pool named "templates" (or ending in "-templates"); a VM template is a stopped VM marked with vm.template.mark. ' +
      'Any other volume can be given to vm.provision as POOL/VOLUME. Bytes as <double>.',
    params: [],
    result: array(templateInfo),
  }),
  mark: method({
    name: 'vm.template.mark',
    help: 'Marks a stopped VM as a template in its libvirt metadata: vm.template.mark(name[, {os}]) -> true. Its first disk becomes the base of the VMs made from it; it is never written by them.',
    params: [string, opt(templateMarkOptions)],
    result: bool,
    mutates: true,
  }),
  unmark: method({
    name: 'vm.template.unmark',
    help: 'Makes a VM template an ordinary VM again: vm.template.unmark(name) -> true. The VMs made from it keep its disk as their backing file: starting it would write under them.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  provision: method({
    name: 'vm.provision',
    help:
      'Makes a VM from a template as a job: vm.provision({name, template, vcpus, memoryMiB, diskBytes, pool, networks, virtType, kernel, initrd, cmdline, hostname, sshKeys, user, packages, commands, userData, networkConfig, guestAgent, start, fullCopy, templateUri}) -> job id. ' +
      'The disk is a qcow2 overlay backed by the template (never written), grown to diskBytes; a NoCloud seed ISO (label cidata: meta-data with a new instance-id, user-data, network-config) is attached as a CD-ROM; then the VM is defined and started. ' +
      'By default the seed also carries the bundled guest agent (dist/guest-agent.mjs beside the node agent, or $VEM_GUEST_AGENT) and a systemd unit, installed by a first-boot command, so the guest browser answers once the VM has booted; guestAgent: false leaves them out. ' +
      'Refused before anything is made, naming the field: an unknown template, a disk smaller than the template, invalid user-data, a name in use, a pool without room. ' +
      'Follow with job.get: provision {steps [{step, done}], disk, seed, failedStep}. A failure removes what was made and names the step.',
    params: [provisionSpec],
    result: string,
    mutates: true,
    redact: redactUserData,
  }),
};
