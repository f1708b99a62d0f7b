/**
 * What the admin does to VMs, declared once: the overview (on the marked or
 * selected VMs) and the VM view (on its VM) share this table.
 */
import type { Binding } from '../keymap.js';
import type { VmRecord } from '../store/model.js';
import type { VmOp } from '../commands/index.js';
import type { AppHost } from './page.js';
import { MigrateDialog, ProgressDialog, SnapshotsDialog } from './dialogs.js';
import { unsupportedReason, type DriverAction } from './unsupported.js';

/** A page that acts on VMs: the one it shows, or the marked ones. */
export interface VmContext {
  readonly host: AppHost;
  /** The VM under the cursor (or the one shown). */
  vm(): VmRecord | undefined;
  /** What an action applies to: marked VMs, else the selected one. */
  vms(): VmRecord[];
}

function names(vms: Array<{ name: string }>): string {
  const n = vms.map((v) => v.name);
  return n.length <= 4 ? n.join(', ') : `${n.slice(0, 3).join(', ')} and ${n.length - 3} more`;
}

/** Says why when the VM's node's driver lacks the action (node.info's capabilities); true = do not send it. */
function refused(c: VmContext, action: DriverAction, vm: VmRecord): boolean {
  const why = unsupportedReason(action, vm, c.host.store.nodes.get(vm.node));
  if (why !== undefined) c.host.say(why, true);
  return why !== undefined;
}

/** Like withVm, for an action the VM's driver may lack: refused with the reason, not sent. */
function withCapableVm(c: VmContext, arg: string, action: DriverAction, fn: (vm: VmRecord) => void): void {
  withVm(c, arg, (vm) => {
    if (!refused(c, action, vm)) fn(vm);
  });
}

function vmOp(c: VmContext, op: VmOp, confirm: boolean): void {
  let vms = c.vms();
  if (vms.length === 0) return c.host.say('no VM selected', true);
  if (op === 'reset') {
    // Marked VMs on several nodes: the ones whose driver has it go; the others are named.
    const lacking = vms.filter((v) => unsupportedReason('reset', v, c.host.store.nodes.get(v.node)) !== undefined);
    if (lacking.length === vms.length) return void refused(c, 'reset', vms[0] as VmRecord);
    if (lacking.length > 0) {
      c.host.say(`reset: not sent to ${names(lacking)} (their node's driver has none)`, true);
      vms = vms.filter((v) => !lacking.includes(v));
    }
  }
  const run = (): void => void c.host.cmd.vmOp(op, vms);
  if (!confirm) return run();
  const what = op === 'destroy' ? 'Force off (destroy)' : op === 'shutdown' ? 'Shut down' : op === 'reset' ? 'Hard reset' : 'Reboot';
  const warn = op === 'destroy' ? ['Like pulling the power cord: unsaved guest data is lost.'] : op === 'reset' ? ['Like the reset button: the guest OS is not asked; unsaved guest data is lost.'] : [];
  c.host.confirm([`${what} ${vms.length === 1 ? '' : `${vms.length} VMs: `}${names(vms)}?`, ...warn], run);
}

/** The VM a command names (node/name or name, then a unique part of a name), else the page's own. */
export function vmByArg(c: VmContext, arg: string): VmRecord | undefined {
  if (!arg) return c.vm();
  const q = arg.toLowerCase();
  const all = [...c.host.store.vms.values()];
  return all.find((v) => v.key.toLowerCase() === q || v.name.toLowerCase() === q) ?? all.find((v) => v.name.toLowerCase().includes(q));
}

function withVm(c: VmContext, arg: string, fn: (vm: VmRecord) => void): void {
  const vm = vmByArg(c, arg);
  if (!vm) return c.host.say(arg ? `no VM matches '${arg}'` : 'no VM selected', true);
  fn(vm);
}

export function openMigrate(c: VmContext, vm: VmRecord, to = ''): void {
  const h = c.host;
  const running = h.cmd.migrations.get(vm.key);
  if (running && !running.finished) return h.push(new ProgressDialog(h, vm.key));
  const d = new MigrateDialog(h, vm.key, vm.state === 'running' || vm.state === 'paused');
  h.push(d);
  if (to && !d.choose(to)) h.say(`no node '${to}' to migrate to`, true);
}

function opener(name: string, keys: string[], help: string, hint?: string, args = '[VM]'): Binding<VmContext> {
  return { keys, help, command: name, args, ...(hint ? { hint } : {}), run: (c, arg) => void c.host.openScreen(name, arg) };
}

export const VM_ACTIONS: readonly Binding<VmContext>[] = [
  { keys: ['u'], help: 'start (up)', hint: 'start', run: (c) => vmOp(c, 'start', false) },
  { keys: ['d'], help: 'shut down (asks first)', hint: 'stop', run: (c) => vmOp(c, 'shutdown', true) },
  { keys: ['D'], help: 'destroy: force off (asks first)', run: (c) => vmOp(c, 'destroy', true) },
  { keys: ['r'], help: 'reboot (asks first)', run: (c) => vmOp(c, 'reboot', true) },
  { keys: [], help: 'hard reset, like the reset button: the guest OS is not asked (asks first)', command: 'reset', run: (c) => vmOp(c, 'reset', true) },
  { keys: ['p'], help: 'pause (suspend)', run: (c) => vmOp(c, 'suspend', false) },
  { keys: ['P'], help: 'resume', run: (c) => vmOp(c, 'resume', false) },
  {
    keys: ['m'],
    help: 'migrate: choose a target node, live or offline, follow progress',
    hint: 'migrate',
    command: 'migrate',
    args: '[VM] [NODE]',
    run: (c, arg) => {
      const [name = '', to = ''] = arg.split(/\s+/);
      withCapableVm(c, name, 'migrate', (vm) => openMigrate(c, vm, to));
    },
  },
  {
    keys: ['c'],
    help: 'serial console in a pane (Ctrl-] returns)',
    hint: 'console',
    command: 'console',
    args: '[VM]',
    run: (c, arg) => withCapableVm(c, arg, 'console', (vm) => c.host.openConsole(vm, false)),
  },
  { keys: ['C'], help: 'serial console full screen (Ctrl-] returns)', run: (c) => withCapableVm(c, '', 'console', (vm) => c.host.openConsole(vm, true)) },
  { keys: ['n'], help: 'snapshots: create, revert, delete', hint: 'snapshots', command: 'snapshots', args: '[VM]', run: (c, arg) => withCapableVm(c, arg, 'snapshots', (vm) => c.host.push(new SnapshotsDialog(c.host, vm.key, c.vms()))) },
  {
    keys: ['v'],
    help: 'set vCPUs',
    run: (c) =>
      withCapableVm(c, '', 'vcpus', (vm) =>
        c.host.prompt(`vCPUs for ${vm.name} (now ${vm.vcpus}): `, '', (t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 1 || n > 512) return c.host.say(`vCPUs: '${t}' is not a whole number from 1 to 512`, true);
          void c.host.cmd.setVcpus(vm, n);
        }),
      ),
  },
  {
    keys: ['M'],
    help: 'set memory (MiB)',
    run: (c) =>
      withCapableVm(c, '', 'memory', (vm) =>
        c.host.prompt(`memory MiB for ${vm.name} (now ${Math.round(vm.memKiB / 1024)}, max ${Math.round(vm.maxMemKiB / 1024)}): `, '', (t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 16) return c.host.say(`memory: '${t}' is not a whole number of MiB (16 or more)`, true);
          if (vm.maxMemKiB > 0 && n * 1024 > vm.maxMemKiB) return c.host.say(`memory: ${n} MiB is above the VM's maximum of ${Math.round(vm.maxMemKiB / 1024)} MiB`, true);
          void c.host.cmd.setMemory(vm, n * 1024);
        }),
      ),
  },
  opener('clone', ['K'], 'clone a stopped VM: new name, copies of its volumes, new MACs'),
  {
    keys: ['F'],
    help: 'template: make the stopped VM a template, or a template an ordinary VM again (asks first; a running VM is refused)',
    command: 'template',
    args: '[VM]',
    run: (c, arg) => withVm(c, arg, (vm) => void c.host.openScreen('template', vm.key)),
  },
  opener('edit', ['e'], "edit the VM: attach/detach disks and NICs, a NIC's network, boot order"),
  opener('xml', ['X'], "edit the VM's XML in $EDITOR; a refused edit keeps your text"),
  opener('guest', ['i'], 'guest browser: processes, users, services, OS and filesystems'),
  opener('delete', [], 'delete a stopped VM, with or without its volumes'),
];
