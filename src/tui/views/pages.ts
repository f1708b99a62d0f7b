/** The read-mostly views on the stack: VM and node details, wall mode, help, tasks. */
import type { Binding } from '../keymap.js';
import type { NodeRecord, VmRecord } from '../store/model.js';
import { totals } from '../store/model.js';
import { escapeTags } from '../format/text.js';
import { jobLines, level1Lines, nodeDetailLines, taskLines, vmDetailLines, wallLines } from './panels.js';
import type { LongJob } from '../store/tasks.js';
import { BIG_WALL, bigWallLines, type WallBalance } from './wall.js';
import { describeMove } from '../commands/balance.js';
import { level1Changes } from '../store/level1.js';
import { BoundPage, type AppHost } from './page.js';
import { VM_ACTIONS, type VmContext } from './vm-actions.js';
import { provisionJobLines } from '../screens/create.js';

/** How often the node view re-reads level 1's state. */
const LEVEL1_REFRESH_MS = 5000;
/** How often the wall plans level 2 again (the balance view does every 3 s). */
const WALL_REPLAN_MS = 5000;

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
    { keys: ['l'], help: "level-1 balancing on this node on or off (after a confirmation; the agent's audit log records it)", hint: 'level 1', run: (p) => p.toggleLevel1() },
  ];
  private timer: NodeJS.Timeout | undefined;
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
  /** Level 1's state is read on open and every few seconds while shown (one small call to this node only). */
  show(): void {
    void this.host.level1.refresh(this.nodeName);
    if (this.host.frozen) return;
    this.timer = setInterval(() => void this.host.level1.refresh(this.nodeName), LEVEL1_REFRESH_MS);
    this.timer.unref();
  }
  hide(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
  toggleLevel1(): void {
    const h = this.host;
    const node = this.nodeName;
    const st = h.level1.get(node)?.status;
    if (!st) return h.say(`level 1 on ${node}: its state is not known yet (${h.level1.get(node)?.error ?? 'reading'})`, true);
    const on = !st.enabled;
    const lines = on
      ? [`Switch level-1 balancing ON on node ${node}?`, 'After each collection the agent sets CPU shares (and caps when configured) and balloon targets of its running VMs.', "The agent's audit log records the switch and the node view lists each adjustment."]
      : [`Switch level-1 balancing OFF on node ${node}?`, 'Shares and balloon targets stay as they are now.', "The agent's audit log records the switch."];
    h.confirm(lines, () => {
      h.level1.setEnabled(node, on).then(
        (s) => h.say(`level 1 on ${node}: ${s.enabled ? 'ON' : 'off'}`),
        (e: unknown) => h.say(`level 1 on ${node}: ${e instanceof Error ? e.message : String(e)}`, true),
      );
    });
  }
  lines(width: number, height: number): string[] {
    const h = this.host;
    const n = this.node();
    if (!n) return [`node ${this.nodeName} is gone`];
    // On a small terminal level 1 gets its one line (on or off); from 30 rows its recent changes too.
    const l1Rows = height >= 30 ? Math.min(8, Math.floor(height / 5)) : 1;
    const l1 = level1Lines(h.level1.get(n.name), level1Changes(h.events, n.name, l1Rows), width, l1Rows, h.theme);
    const body = nodeDetailLines(n, h.store.vmsOf(n.name), width, height - l1.length, h.theme, h.glyphs);
    // The key line (when it fits) stays last; level 1 goes just above it.
    const keyLine = body.length > 0 && /Esc back/.test(body[body.length - 1] ?? '') ? body.length - 1 : body.length;
    return [...body.slice(0, keyLine), ...l1, ...body.slice(keyLine)].slice(0, height);
  }
}

export class WallPage extends View {
  readonly id = 'wall';
  readonly title = 'Wall mode';
  readonly fullTerminal = true;
  private timer: NodeJS.Timeout | undefined;
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
  /** The big wall shows the balancer's plan: planned again every few seconds while it shows. */
  show(): void {
    void this.host.balance.refresh();
    if (this.host.frozen) return;
    this.timer = setInterval(() => void this.host.balance.refresh({ background: true }), WALL_REPLAN_MS);
    this.timer.unref();
  }
  hide(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
  lines(width: number, height: number): string[] {
    const h = this.host;
    const nodes = [...h.store.nodes.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    const clock = h.frozen ? '' : new Date().toISOString().slice(11, 19);
    const t = totals(h.store.nodes.values());
    const vms = [...h.store.vms.values()];
    if (width < BIG_WALL.width || height < BIG_WALL.height) return wallLines(t, nodes, vms, width, height, h.theme, h.glyphs, clock);
    const b = h.balance;
    const wb: WallBalance = {
      auto: b.auto,
      ...(b.plan ? { imbalance: b.plan.imbalance } : {}),
      moves: (b.plan?.moves ?? []).map((m) => `${describeMove(m)}  ${m.reason ?? ''}`.trimEnd()),
      decisions: b.decisions.slice(0, 4),
      ...(b.error ? { error: b.error } : {}),
    };
    // A frozen screen (fixtures) has no clock, and events carry the time they came in, in whatever order the nodes answered.
    const events = h.frozen ? undefined : h.events.newest('', height);
    return bigWallLines(t, nodes, vms, wb, events, width, height, h.theme, h.glyphs, clock);
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
  sel = 0;
  static readonly TABLE: readonly Binding<TasksPage>[] = [
    { keys: ['down', 'j'], help: 'select the next job', hint: 'select', run: (p) => (p.sel += 1) },
    { keys: ['up', 'k'], help: 'select the previous job', run: (p) => (p.sel = Math.max(0, p.sel - 1)) },
    { keys: ['x'], help: 'cancel the selected running job (migration, clone or provisioning; after a confirmation)', hint: 'cancel job', run: (p) => p.cancelSelected() },
    { keys: ['t'], help: 'close the tasks view', run: (p) => p.close() },
  ];
  protected table(): readonly Binding<this>[] {
    return TasksPage.TABLE;
  }
  watches(): number {
    return 2;
  }
  selected(jobs: LongJob[]): LongJob | undefined {
    if (jobs.length === 0) return undefined;
    this.sel = Math.min(this.sel, jobs.length - 1);
    return jobs[this.sel];
  }
  cancelSelected(): void {
    const h = this.host;
    const j = this.selected(h.longJobs());
    if (!j) return h.say('no job to cancel', true);
    if (j.state !== 'running') return h.say(`${j.label} has ended (${j.state})`, true);
    const what =
      j.kind === 'clone'
        ? 'The agent stops after the volume it is copying; the copies made are removed.'
        : j.kind === 'provision'
          ? 'The agent stops before its next step; what it made (overlay, seed, definition) is removed.'
          : 'libvirt aborts the migration; the VM stays on its node.';
    h.confirm([`Cancel ${j.label}?`, what], () => h.cancelJob(j));
  }
  lines(width: number, height: number): string[] {
    const h = this.host;
    const jobs = h.longJobs();
    const sel = this.selected(jobs);
    const out = [...jobLines(jobs, sel, width, Math.max(3, Math.floor(height / 2)), h.theme, h.glyphs), ''];
    // The selected provisioning job's steps and its reason in full, under the list.
    if (sel?.provision) out.push(...provisionJobLines(h.theme, sel.provision, width, ` (${sel.node}, ${sel.job})`), '');
    return [...out, ...taskLines(h.cmd.tasks, height - out.length, h.theme)];
  }
}

export const VIEW_HELP = [
  { title: 'VM details', bindings: VmPage.TABLE },
  { title: 'Node details', bindings: NodePage.TABLE },
  { title: 'Wall mode', bindings: WallPage.TABLE },
  { title: 'Help', bindings: HelpPage.TABLE },
  { title: 'Tasks', bindings: TasksPage.TABLE },
];
