/**
 * The management screens as the dashboard sees them: one object that holds
 * their store and commands, which screen is open, and opens them by the names
 * the keymap and the `:` command line use.
 */
import type { Link } from '../store/link.js';
import type { ClusterStore } from '../store/store.js';
import type { VmRecord } from '../store/model.js';
import type { Theme } from '../views/theme.js';
import { ManageStore } from '../store/manage.js';
import { ManageCommands } from '../commands/manage.js';
import { StorageScreen } from './storage.js';
import { NetworkScreen } from './networks.js';
import { GuestScreen } from './guest.js';
import { CreateScreen } from './create.js';
import { DeleteScreen } from './delete.js';
import { CloneScreen } from './clone.js';
import { EditScreen } from './edit.js';
import { XmlEditScreen, type EditorRunner } from './xml-edit.js';
import { TemplatesScreen } from './templates.js';
import { followProvisionEvents, isVmTemplate, setVmTemplate } from '../commands/manage-provision.js';
import type { AgentEvent } from '../../api/index.js';
import { Screen, type ScreenHost } from './types.js';

export type { Screen, ScreenHost } from './types.js';

/** What the dashboard lends the screens. */
export interface ScreensDeps {
  theme: () => Theme;
  store: ClusterStore;
  link(node: string): Link | undefined;
  invalidate(node: string): void;
  say(text: string, isError?: boolean): void;
  confirm(lines: string[], yes: () => void): void;
  prompt(prompt: string, initial: string, submit: (text: string) => void, o?: { secret?: boolean }): void;
  markDirty(): void;
  runEditor: EditorRunner;
  /** The VM and node the admin has selected, for screens opened without a name. */
  selectedVm(): VmRecord | undefined;
  selectedNode(): string | undefined;
  /**
   * The dashboard's screen stack. Without one (a test driving the screens
   * directly) the screens keep a stack of their own.
   */
  stack?: { push(s: Screen): void; pop(s: Screen): void; top(): unknown };
}

export class ManageScreens {
  readonly manage = new ManageStore();
  readonly cmds: ManageCommands;
  private readonly host: ScreenHost;
  private readonly own: Screen[] = [];

  constructor(private readonly deps: ScreensDeps) {
    this.cmds = new ManageCommands(
      { link: (n) => deps.link(n), vmNames: (n) => deps.store.vmsOf(n).map((v) => v.name), say: (t, e) => deps.say(t, e), invalidate: (n) => deps.invalidate(n) },
      this.manage,
    );
    this.manage.onChange(() => deps.markDirty());
    this.host = {
      get theme() {
        return deps.theme();
      },
      store: deps.store,
      manage: this.manage,
      cmds: this.cmds,
      say: (t, e) => deps.say(t, e),
      confirm: (l, y) => deps.confirm(l, y),
      prompt: (p, i, s, o) => deps.prompt(p, i, s, o),
      close: () => this.close(),
      markDirty: () => deps.markDirty(),
    };
  }

  /** The management screen on top, if the top page is one. */
  get current(): Screen | undefined {
    if (!this.deps.stack) return this.own[this.own.length - 1];
    const t = this.deps.stack.top();
    return t instanceof Screen ? t : undefined;
  }

  open(s: Screen): void {
    if (this.deps.stack) this.deps.stack.push(s);
    else {
      // Without the dashboard's stack, one screen at a time: a new one replaces the last.
      this.own.pop()?.hide();
      this.own.push(s);
      s.show();
    }
    this.deps.markDirty();
  }

  /** Take the top management screen off the stack. */
  close(): void {
    const s = this.current;
    if (!s) return;
    if (this.deps.stack) this.deps.stack.pop(s);
    else {
      this.own.pop();
      s.hide();
    }
    this.deps.markDirty();
  }

  /** The create form on `node` with `template` chosen (from :templates). */
  openCreateFrom(node: string, template: string): void {
    const s = new CreateScreen(this.host, node);
    // The template's own size unless the admin gives one (a disk never shrinks below it).
    Object.assign(s.input, { diskMode: 'template', template, diskSize: '' });
    this.open(s);
  }

  /**
   * A node's events, as its poller hands them to the dashboard: provisioning jobs
   * started elsewhere are followed into the tasks view, and an open :templates
   * re-reads that node when its templates may have changed.
   */
  onAgentEvents(node: string, events: readonly AgentEvent[]): void {
    followProvisionEvents(this.cmds, node, events);
    const s = this.current;
    if (s instanceof TemplatesScreen) s.onEvents(node, events);
  }

  /**
   * F / :template VM: a stopped VM made a template, or a template an ordinary VM
   * again, after a confirmation. A VM that is not stopped is refused here with the
   * reason (the agent would refuse it too); which way it goes is the node's
   * template.list's say, read first.
   */
  toggleTemplate(vm: VmRecord): void {
    const say = this.deps.say;
    if (vm.state !== 'shutoff') {
      say(`${vm.name} is ${vm.state}: only a stopped VM can be made a template or an ordinary VM again (shut it down first)`, true);
      return;
    }
    void isVmTemplate(this.cmds, vm.node, vm.name).then((is) => {
      if (typeof is !== 'boolean') return say(`${vm.name}: cannot tell whether it is a template (${is.error})`, true);
      const lines = is
        ? [`Make the template ${vm.name} on ${vm.node} an ordinary VM again?`, 'The VMs made from it keep its disk as their backing file: starting it would write under them.']
        : [
            `Make ${vm.name} on ${vm.node} a template?`,
            'Its first disk becomes the base of the VMs made from it (overlays);',
            'while a template it is not started. F again makes it an ordinary VM.',
          ];
      this.deps.confirm(lines, () => void setVmTemplate(this.cmds, vm.node, vm.name, !is));
    });
  }

  private findVm(arg: string): VmRecord | undefined {
    if (!arg) return this.deps.selectedVm();
    const q = arg.toLowerCase();
    const all = [...this.deps.store.vms.values()];
    return all.find((v) => v.key.toLowerCase() === q || v.name.toLowerCase() === q) ?? all.find((v) => v.name.toLowerCase().includes(q));
  }

  private findNode(arg: string): string | undefined {
    if (!arg) return this.deps.selectedNode() ?? this.deps.selectedVm()?.node;
    const nodes = [...this.deps.store.nodes.keys()];
    return nodes.find((n) => n === arg) ?? nodes.find((n) => n.includes(arg));
  }

  /** Open a screen by its command name; says why not when it cannot. Returns false for names it does not serve. */
  openByName(name: string, arg = '', node?: string): boolean {
    const say = this.deps.say;
    switch (name) {
      case 'storage':
      case 'networks': {
        const n = node ?? this.findNode(arg);
        if (!n) {
          say(arg ? `no node '${arg}'` : 'no node selected', true);
          return true;
        }
        this.open(name === 'storage' ? new StorageScreen(this.host, n) : new NetworkScreen(this.host, n));
        return true;
      }
      case 'templates': {
        const n = arg ? this.findNode(arg) : node;
        if (arg && !n) {
          say(`no node '${arg}'`, true);
          return true;
        }
        this.open(new TemplatesScreen(this.host, n, (nd, t) => this.openCreateFrom(nd, t)));
        return true;
      }
      case 'template': {
        // Not a screen: a confirmation, then the mark (F and :template VM come here).
        const vm = this.findVm(arg);
        if (!vm) say(arg ? `no VM matches '${arg}'` : 'no VM selected', true);
        else this.toggleTemplate(vm);
        return true;
      }
      case 'create': {
        const n = node ?? this.findNode('');
        if (!n) {
          say('no node to create the VM on (select one in the node list)', true);
          return true;
        }
        this.open(new CreateScreen(this.host, n, arg));
        return true;
      }
      case 'guest':
      case 'xml':
      case 'edit':
      case 'clone':
      case 'delete': {
        const vm = this.findVm(arg);
        if (!vm) {
          say(arg ? `no VM matches '${arg}'` : 'no VM selected', true);
          return true;
        }
        if (name === 'guest') this.open(new GuestScreen(this.host, vm));
        else if (name === 'xml') this.open(new XmlEditScreen(this.host, vm, this.deps.runEditor));
        else if (name === 'edit') this.open(new EditScreen(this.host, vm, () => this.open(new XmlEditScreen(this.host, vm, this.deps.runEditor))));
        else if (name === 'clone') this.open(new CloneScreen(this.host, vm));
        else this.open(new DeleteScreen(this.host, vm));
        return true;
      }
    }
    return false;
  }
}

/** Every management screen's table, for `?`. */
export const SCREEN_HELP = [
  { title: 'Storage (:storage)', bindings: StorageScreen.TABLE },
  { title: 'Networks (:networks)', bindings: NetworkScreen.TABLE },
  { title: 'Guest browser (i)', bindings: GuestScreen.TABLE },
  { title: 'Create VM (a)', bindings: CreateScreen.TABLE },
  { title: 'Templates (:templates)', bindings: TemplatesScreen.TABLE },
  { title: 'Clone VM (K)', bindings: CloneScreen.TABLE },
  { title: 'Edit VM (e)', bindings: EditScreen.TABLE },
  { title: 'XML edit (X)', bindings: XmlEditScreen.TABLE },
  { title: 'Delete VM (:delete)', bindings: DeleteScreen.TABLE },
];
