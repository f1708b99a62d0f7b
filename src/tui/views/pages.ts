/** The read-mostly views on the stack: VM and node details, wall mode, help, tasks. */
import type { Binding } from '../keymap.js';
import type { NodeRecord, VmRecord } from '../store/model.js';
import { totals } from '../store/model.js';
import { escapeTags } from '../format/text.js';
import { nodeDetailLines, taskLines, vmDetailLines, wallLines } from './panels.js';
import { BoundPage, type AppHost } from './page.js';
import { VM_ACTIONS, type VmContext } from './vm-actions.js';

abstract class View extends BoundPage {
  // a read-mostly view: its table, its lines, Esc/q closes it
}

export class VmPage extends View implements VmContext {
  readonly id = 'vm';
  readonly title = 'VM details';
  static readonly TABLE: readonly Binding<VmPage>[] = VM_ACTIONS;
  constructor(
    host: AppHost,
    readonly vmKey: string,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return VmPage.TABLE;
  }
  vm(): VmRecord | undefined {
    return this.host.store.vms.get(this.vmKey);
  }
  vms(): VmRecord[] {
    const v = this.vm();
    return v ? [v] : [];
  }
  watches(node: string): number | undefined {
    return this.vm()?.node === node ? 1 : 10;
  }
  lines(width: number, height: number): string[] {
    const h = this.host;
    const vm = this.vm();
    if (!vm) return [`VM ${this.vmKey} is gone`];
    return vmDetailLines(vm, h.store.nodes.get(vm.node), h.cmd.migrations.get(vm.key), width, height + 1, h.theme, h.glyphs).slice(0, -1);
  }
}

export class NodePage extends View {
  readonly id = 'node';
  readonly title = 'Node details';
  static readonly TABLE: readonly Binding<NodePage>[] = [
    { keys: ['E'], help: 'evacuate this node: preview, then migrate all its VMs away', hint: 'evacuate', run: (p) => p.host.runCommand(`evacuate ${p.nodeName}`) },
    { keys: ['R'], help: 'reconnect to this node now', run: (p) => p.host.runCommand(`reconnect ${p.nodeName}`) },
    { keys: ['T'], help: "trust this node's new SSH host key (fingerprint shown first)", run: (p) => p.host.runCommand(`trust ${p.nodeName}`) },
    { keys: ['a'], help: 'create a VM on this node', hint: 'create VM', run: (p) => void p.host.openScreen('create', '', p.nodeName) },
    { keys: ['o'], help: 'storage pools and volumes of this node', hint: 'storage', run: (p) => void p.host.openScreen('storage', '', p.nodeName) },
    { keys: ['N'], help: 'virtual networks of this node', hint: 'networks', run: (p) => void p.host.openScreen('networks', '', p.nodeName) },
  ];
  constructor(
    host: AppHost,
    readonly nodeName: string,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return NodePage.TABLE;
  }
  node(): NodeRecord | undefined {
    return this.host.store.nodes.get(this.nodeName);
  }
  watches(node: string): number | undefined {
    return node === this.nodeName ? 1 : 10;
  }
  lines(width: number, height: number): string[] {
    const h = this.host;
    const n = this.node();
    if (!n) return [`node ${this.nodeName} is gone`];
    return nodeDetailLines(n, h.store.vmsOf(n.name), width, height, h.theme, h.glyphs);
  }
}

export class WallPage extends View {
  readonly id = 'wall';
  readonly title = 'Wall mode';
  readonly fullTerminal = true;
  static readonly TABLE: readonly Binding<WallPage>[] = [
    { keys: ['escape', 'w'], help: 'back to the overview', hint: 'back', run: (p) => p.close() },
    { keys: ['q'], help: 'quit the dashboard', hint: 'quit', run: (p) => p.host.quit(0) },
  ];
  protected table(): readonly Binding<this>[] {
    return WallPage.TABLE;
  }
  watches(): number {
    return 2;
  }
  lines(width: number, height: number): string[] {
    const h = this.host;
    const nodes = [...h.store.nodes.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    const clock = h.frozen ? '' : new Date().toISOString().slice(11, 19);
    return wallLines(totals(h.store.nodes.values()), nodes, [...h.store.vms.values()], width, height, h.theme, h.glyphs, clock);
  }
}

export class HelpPage extends View {
  readonly id = 'help';
  readonly title = 'Help';
  top = 0;
  private cache: string[] | undefined;
  static readonly TABLE: readonly Binding<HelpPage>[] = [
    { keys: ['down', 'j'], help: 'scroll down', hint: 'scroll', run: (p) => (p.top = Math.min(p.text().length - 1, p.top + 1)) },
    { keys: ['up', 'k'], help: 'scroll up', run: (p) => (p.top = Math.max(0, p.top - 1)) },
    { keys: ['pagedown', 'space', 'C-f'], help: 'page down', run: (p) => (p.top = Math.min(p.text().length - 1, p.top + 20)) },
    { keys: ['pageup', 'C-b'], help: 'page up', run: (p) => (p.top = Math.max(0, p.top - 20)) },
    { keys: ['?'], help: 'close the help', run: (p) => p.close() },
  ];
  protected table(): readonly Binding<this>[] {
    return HelpPage.TABLE;
  }
  private width = 0;
  /** The help text wrapped to the screen: a long line goes on under its own text, never cut. */
  text(): string[] {
    if (this.cache) return this.cache;
    const out: string[] = [];
    const w = Math.max(40, this.width);
    for (const l of this.host.helpText()) {
      if (l.length <= w) {
        out.push(l);
        continue;
      }
      const indent = l.startsWith('  ') ? 17 : 2;
      let rest = l;
      while (rest.length > w) {
        const cut = rest.lastIndexOf(' ', w);
        const at = cut > indent ? cut : w;
        out.push(rest.slice(0, at));
        rest = ' '.repeat(indent) + rest.slice(at).trimStart();
      }
      out.push(rest);
    }
    return (this.cache = out);
  }
  lines(width: number, height: number): string[] {
    if (width !== this.width) {
      this.width = width;
      this.cache = undefined;
    }
    return this.text().slice(this.top, this.top + height).map(escapeTags);
  }
}

export class TasksPage extends View {
  readonly id = 'tasks';
  readonly title = 'Tasks';
  static readonly TABLE: readonly Binding<TasksPage>[] = [{ keys: ['t'], help: 'close the tasks view', run: (p) => p.close() }];
  protected table(): readonly Binding<this>[] {
    return TasksPage.TABLE;
  }
  watches(): number {
    return 2;
  }
  lines(_width: number, height: number): string[] {
    return taskLines(this.host.cmd.tasks, height, this.host.theme);
  }
}

export const VIEW_HELP = [
  { title: 'VM details', bindings: VmPage.TABLE },
  { title: 'Node details', bindings: NodePage.TABLE },
  { title: 'Wall mode', bindings: WallPage.TABLE },
  { title: 'Help', bindings: HelpPage.TABLE },
  { title: 'Tasks', bindings: TasksPage.TABLE },
];
