/**
 * The overview, the bottom of the stack: the node list and the VM table with
 * filter, sort and marks. It owns the selection other pages act on.
 */
import { bind, type Binding, type Bound } from '../keymap.js';
import { staleSince, totals, type NodeRecord, type VmRecord } from '../store/model.js';
import type { FigureChanges } from '../store/store.js';
import { cell, escapeTags } from '../format/text.js';
import { headerLine, nodeLines, vmLines } from './tables.js';
import { vmDetailLines } from './panels.js';
import { globMatcher, SORT_KEYS, type SortKey } from './vmlist.js';
import { SortedRows } from './sorted-rows.js';
import type { AppHost, Page, Pane, Selection } from './page.js';
import { VM_ACTIONS, vmByArg, type VmContext } from './vm-actions.js';
import { NodePage, VmPage } from './pages.js';
import { EvacuateDialog } from './dialogs.js';
import { planEvacuation } from '../commands/plan.js';

const PAGE = 10;
/** Sort keys by a live figure, which each node ranks itself (vm.watch's sort). */
const RANKED: ReadonlySet<SortKey> = new Set<SortKey>(['cpu', 'mem', 'disk', 'net']);

export class OverviewPage implements Page, Selection, VmContext {
  readonly id = 'overview';
  readonly title = 'Overview';
  focus: 'vms' | 'nodes' = 'vms';
  selVm = '';
  selNode = '';
  vmTop = 0;
  nodeTop = 0;
  filter = '';
  sortKey: SortKey = 'name';
  reverse = false;
  readonly marks = new Set<string>();
  /** Rows of the VM table as last drawn (filter and sort applied). */
  rows: VmRecord[] = [];
  nodeRows: NodeRecord[] = [];
  /** Nodes whose VMs / node rows are on screen (set at each draw). */
  visibleNodes = new Set<string>();
  /** The last row shown when the table, sorted by a live figure (largest first), runs past the screen: a VM passing it would show. */
  rankMark: VmRecord | undefined;
  visibleNodeRows = new Set<string>();
  /** Extra text at the right of the header (balancer state). */
  headerExtra: () => string = () => '';
  private bound: Bound[] | undefined;
  private rowsKey = '';
  private rowsVersion = 0;
  private readonly sorted = new SortedRows();
  /** VMs whose figures changed since the rows were last brought up to date (the store fills it). */
  private figures: FigureChanges | undefined;
  private nodeCount = -1;

  constructor(readonly host: AppHost) {}

  bindings(): readonly Bound[] {
    return (this.bound ??= bind(this, OVERVIEW));
  }

  vm(): VmRecord | undefined {
    return this.selectedVm();
  }
  vms(): VmRecord[] {
    return this.targets();
  }
  selectedVm(): VmRecord | undefined {
    return this.host.store.vms.get(this.selVm) ?? this.rows[0];
  }
  selectedNode(): NodeRecord | undefined {
    return this.host.store.nodes.get(this.selNode) ?? this.nodeRows[0];
  }
  targets(): VmRecord[] {
    const marked = [...this.marks].map((k) => this.host.store.vms.get(k)).filter((v): v is VmRecord => v !== undefined);
    if (marked.length > 0) return marked;
    const v = this.selectedVm();
    return v ? [v] : [];
  }
  /** The node an action without a name applies to: the node list's selection, else the selected VM's node. */
  nodeFor(arg: string): NodeRecord | undefined {
    const s = this.host.store;
    if (arg) return s.nodes.get(arg) ?? [...s.nodes.values()].find((x) => x.name.includes(arg));
    if (this.focus === 'nodes') return this.selectedNode();
    const vm = this.selectedVm();
    return vm ? s.nodes.get(vm.node) : this.selectedNode();
  }

  /**
   * Filter and sort again only when the data, the filter or the sort changed (not on
   * every key); the rows keep their order between ticks, so this mostly checks it.
   */
  refreshRows(withData = true): void {
    const store = this.host.store;
    const version = withData || this.rowsKey === '' ? store.version : this.rowsVersion;
    const key = `${version}\0${this.filter}\0${this.sortKey}\0${this.reverse}`;
    if (key === this.rowsKey) return;
    this.rowsVersion = version;
    this.rowsKey = key;
    if (store.nodes.size !== this.nodeCount) {
      this.nodeCount = store.nodes.size;
      // Nodes are only ever added: sorted again when one came.
      this.nodeRows = [...store.nodes.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    }
    const figures = (this.figures ??= store.figureChanges());
    if (this.sorted.update(store.vms, store.inventory, this.filter, this.sortKey, this.reverse, figures.overflow ? undefined : figures.vms)) this.rows = this.sorted.rows;
    figures.vms.length = 0;
    figures.overflow = false;
    if (this.rowIndex(this.selVm) < 0) this.selVm = this.rows[0]?.key ?? '';
    if (!store.nodes.has(this.selNode)) this.selNode = this.nodeRows[0]?.name ?? '';
  }

  /** Where a VM is in the table (-1: not shown); by identity, which is cheap on a long table. */
  private rowIndex(key: string): number {
    const vm = this.host.store.vms.get(key);
    return vm ? this.rows.indexOf(vm) : -1;
  }

  move(delta: number | 'top' | 'bottom'): void {
    if (this.focus === 'nodes') {
      const i = this.nodeRows.findIndex((n) => n.name === this.selNode);
      const j = delta === 'top' ? 0 : delta === 'bottom' ? this.nodeRows.length - 1 : Math.max(0, Math.min(this.nodeRows.length - 1, i + delta));
      this.selNode = this.nodeRows[j]?.name ?? this.selNode;
      return;
    }
    const i = this.rowIndex(this.selVm);
    const j = delta === 'top' ? 0 : delta === 'bottom' ? this.rows.length - 1 : Math.max(0, Math.min(this.rows.length - 1, i + delta));
    this.selVm = this.rows[j]?.key ?? this.selVm;
  }

  setFilter(text: string): void {
    this.filter = text;
    this.vmTop = 0;
    this.refreshRows(false);
  }

  openVm(vm: VmRecord): void {
    this.selVm = vm.key;
    this.host.push(new VmPage(this.host, vm.key));
    this.host.backfill(vm);
  }

  openNode(n: NodeRecord): void {
    this.selNode = n.name;
    this.host.push(new NodePage(this.host, n.name));
  }

  watches(node: string): number | undefined {
    return this.visibleNodes.size === 0 || this.visibleNodes.has(node) ? 1 : undefined;
  }

  lines(): string[] {
    return [];
  }

  panes(W: number, H: number): Pane[] {
    const h = this.host;
    const t = h.theme;
    this.refreshRows(false);
    const tot = totals(h.store.nodes.values());
    const clock = h.frozen ? '' : new Date().toISOString().slice(11, 19);
    const out: Pane[] = [{ top: 0, left: 0, width: W, height: 1, lines: [headerLine(tot, W, t, `${this.headerExtra()} ${clock}`.trim())] }];
    const nodesH = Math.min(this.nodeRows.length + 1, Math.max(3, Math.floor((H - 3) / 3)));
    const nodeSel = Math.max(0, this.nodeRows.findIndex((n) => n.name === this.selNode));
    const nl = nodeLines({ rows: this.nodeRows, selected: nodeSel, top: this.nodeTop, focused: this.focus === 'nodes' }, W, nodesH, t, h.glyphs);
    this.nodeTop = nl.top;
    this.visibleNodeRows = new Set(this.nodeRows.slice(nl.top, nl.top + nodesH - 1).map((n) => n.name));
    out.push({ top: 1, left: 0, width: W, height: nodesH, lines: nl.lines });
    const side = W >= 140 ? Math.min(64, Math.floor(W * 0.36)) : 0;
    const tableW = side > 0 ? W - side - 1 : W;
    const vmTop = 1 + nodesH;
    const vmH = H - vmTop - 1;
    const marked = this.marks.size > 0 ? `  marked ${this.marks.size}` : '';
    const title = `VMs ${this.rows.length} of ${h.store.vms.size}${this.filter ? `  filter "${this.filter}"` : ''}  sort ${this.sortKey}${this.reverse ? ' (reversed)' : ''}${marked}`;
    out.push({ top: vmTop, left: 0, width: tableW, height: 1, lines: [t.head(escapeTags(cell(title, tableW)))] });
    const vmSel = Math.max(0, this.rowIndex(this.selVm));
    const vl = vmLines({ rows: this.rows, selected: vmSel, top: this.vmTop, focused: this.focus === 'vms', marks: this.marks }, tableW, vmH, t, h.glyphs, h.cmd.migrations, (node) => staleSince(h.store.nodes.get(node)));
    this.vmTop = vl.top;
    this.visibleNodes = new Set(this.rows.slice(vl.top, vl.top + vmH).map((r) => r.node));
    this.rankMark = RANKED.has(this.sortKey) && !this.reverse && this.rows.length > vl.top + vmH ? this.rows[vl.top + vmH - 1] : undefined;
    out.push({ top: vmTop + 1, left: 0, width: tableW, height: vmH, lines: vl.lines });
    const vm = this.selectedVm();
    if (side > 0 && vm) out.push({ top: vmTop, left: tableW + 1, width: side, height: vmH + 1, lines: vmDetailLines(vm, h.store.nodes.get(vm.node), h.cmd.migrations.get(vm.key), side, vmH + 1, t, h.glyphs).slice(0, -1) });
    return out;
  }
}

function markPattern(o: OverviewPage): void {
  o.host.prompt('mark VMs matching: ', '', (p) => {
    if (!p) return;
    const m = globMatcher(p);
    let n = 0;
    for (const r of o.rows) {
      if (!m(r.name)) continue;
      o.marks.add(r.key);
      n++;
    }
    o.host.say(`marked ${n} VMs matching ${p} (${o.marks.size} marked)`);
  });
}

/**
 * Trust a node's new SSH host key, as ssh's first-connection question does: the
 * fingerprint is shown to check against the node (ssh-keygen -lf on its host key)
 * before anything is written. A changed key (hostkey-refused) is never offered.
 */
function trustHostKey(o: OverviewPage, arg: string): void {
  const h = o.host;
  const waiting = [...h.store.nodes.keys()].map((n) => h.link(n)).filter((l) => l?.pendingHostKey && l.trustHostKey);
  const name = arg || o.selectedNode()?.name || (waiting.length === 1 ? waiting[0]?.name : undefined);
  const link = name ? h.link(name) : undefined;
  if (!link || !name) return h.say(name ? `no node ${name}` : 'no node selected', true);
  const k = link.pendingHostKey;
  if (link.state === 'hostkey-refused') return h.say(`node ${name}: its host key CHANGED; not offered for trust. ${link.detail ?? ''}`, true);
  if (!k || !link.trustHostKey) return h.say(`node ${name} has no new host key to trust (link ${link.state})`, true);
  const trust = link.trustHostKey.bind(link);
  h.confirm(
    [
      `Trust the SSH host key of node ${name}?`,
      `${k.hostPattern}  ${k.keyType}`,
      `${k.fingerprint}`,
      `Check it on the node first: ssh-keygen -lf /etc/ssh/ssh_host_${k.keyType.replace(/^ssh-|^ecdsa-sha2-nistp\d+$/, (m) => (m === 'ssh-' ? '' : 'ecdsa'))}_key.pub`,
      `It is added to ${k.knownHostsFile}.`,
    ],
    () => {
      trust().then(
        () => h.say(`node ${name}: host key trusted (${k.fingerprint}); connecting`),
        (e: unknown) => h.say(`node ${name}: could not trust the key: ${e instanceof Error ? e.message : String(e)}`, true),
      );
    },
  );
}

function reconnect(o: OverviewPage, arg: string): void {
  const h = o.host;
  const name = arg || o.selectedNode()?.name;
  const link = name ? h.link(name) : undefined;
  if (!link || !name) return h.say(name ? `no node ${name}` : 'no node selected', true);
  if (!link.reconnect) return h.say(`node ${name}: this link reconnects by itself`, true);
  link.reconnect();
  h.say(`node ${name}: reconnecting now`);
}

function evacuate(o: OverviewPage, arg: string): void {
  const h = o.host;
  const node = arg ? h.store.nodes.get(arg) : o.selectedNode();
  if (!node) return h.say(arg ? `no node ${arg}` : 'no node selected', true);
  h.push(new EvacuateDialog(h, node.name, planEvacuation(node.name, [...h.store.nodes.values()], [...h.store.vms.values()], (k) => h.cmd.migrations.get(k)?.finished === false), () => h.runCommand('tasks')));
}

const onNodes = (o: OverviewPage): boolean => o.focus === 'nodes';

export const OVERVIEW: readonly Binding<OverviewPage>[] = [
  { keys: ['/'], help: 'filter the VM table as you type (name, node or state; Esc restores, empty clears)', hint: 'filter', command: 'filter', args: 'TEXT', run: (o, arg) => (arg ? o.setFilter(arg) : startFilter(o)) },
  { keys: ['escape'], help: 'clear the filter', when: (o) => o.filter !== '', run: (o) => o.setFilter('') },
  { keys: ['enter'], help: 'details and live charts of the selected VM or node', hint: 'details', run: (o) => openDetail(o) },
  { keys: ['tab'], help: 'switch between the node list and the VM table', run: (o) => (o.focus = o.focus === 'vms' ? 'nodes' : 'vms') },
  { keys: ['up', 'k'], help: 'move up', run: (o) => o.move(-1) },
  { keys: ['down', 'j'], help: 'move down', run: (o) => o.move(1) },
  { keys: ['pageup', 'C-b'], help: 'page up', run: (o) => o.move(-PAGE) },
  { keys: ['pagedown', 'C-f'], help: 'page down', run: (o) => o.move(PAGE) },
  { keys: ['g', 'home'], help: 'first row', run: (o) => o.move('top') },
  { keys: ['G', 'end'], help: 'last row', run: (o) => o.move('bottom') },
  {
    keys: ['s'],
    help: 'sort by the next column (:sort COLUMN: name, node, state, cpu, mem, vcpus, memory, disk, net)',
    command: 'sort',
    args: 'COLUMN',
    run: (o, arg) => {
      if (!arg) {
        o.sortKey = SORT_KEYS[(SORT_KEYS.indexOf(o.sortKey) + 1) % SORT_KEYS.length] ?? 'name';
        return;
      }
      if (!(SORT_KEYS as readonly string[]).includes(arg)) return o.host.say(`sort by one of: ${SORT_KEYS.join(', ')}`, true);
      o.sortKey = arg as SortKey;
    },
  },
  { keys: ['S'], help: 'reverse the sort order', run: (o) => (o.reverse = !o.reverse) },
  {
    keys: ['space'],
    help: 'mark / unmark the VM (actions apply to all marked VMs)',
    hint: 'mark',
    run: (o) => {
      const vm = o.selectedVm();
      if (!vm) return;
      if (o.marks.has(vm.key)) o.marks.delete(vm.key);
      else o.marks.add(vm.key);
      o.move(1);
    },
  },
  { keys: ['*'], help: 'mark every VM matching a pattern (glob: web-*, web-0[12])', run: (o) => markPattern(o) },
  {
    keys: ['x'],
    help: 'clear all marks',
    run: (o) => {
      o.marks.clear();
      o.host.say('marks cleared');
    },
  },
  { keys: ['T'], help: "trust the node's new SSH host key: shows its fingerprint to check first", command: 'trust', args: '[NODE]', when: onNodes, run: (o, arg) => trustHostKey(o, arg) },
  { keys: ['R'], help: 'reconnect to the node now (after fixing a key, an agent, a network)', command: 'reconnect', args: '[NODE]', when: onNodes, run: (o, arg) => reconnect(o, arg) },
  { keys: ['E'], help: 'evacuate the node: preview, then migrate all its VMs away', hint: 'evacuate', command: 'evacuate', args: '[NODE]', when: onNodes, run: (o, arg) => evacuate(o, arg) },
  ...VM_ACTIONS,
  {
    keys: ['a'],
    help: 'create a VM on the selected node: a form checked before anything is sent',
    command: 'create',
    args: '[NAME]',
    run: (o, arg) => {
      const node = o.nodeFor('');
      if (!node) return o.host.say('no node to create the VM on (select one in the node list)', true);
      o.host.openScreen('create', arg, node.name);
    },
  },
  { keys: [], help: 'storage pools and volumes of a node', command: 'storage', args: '[NODE]', run: (o, arg) => openNodeScreen(o, 'storage', arg) },
  { keys: [], help: 'virtual networks of a node', command: 'networks', args: '[NODE]', run: (o, arg) => openNodeScreen(o, 'networks', arg) },
  {
    keys: [],
    help: 'select a VM (node/name or name) and show its details',
    command: 'vm',
    args: 'NAME',
    run: (o, arg) => {
      const hit = vmByArg(o, arg);
      if (!hit || !arg) return o.host.say(`no VM matches '${arg}'`, true);
      o.setFilter('');
      o.focus = 'vms';
      o.openVm(hit);
    },
  },
  {
    keys: [],
    help: 'select a node and show its details',
    command: 'node',
    args: 'NAME',
    run: (o, arg) => {
      const n = o.nodeFor(arg);
      if (!n || !arg) return o.host.say(`no node '${arg}'`, true);
      o.focus = 'nodes';
      o.openNode(n);
    },
  },
];

function openNodeScreen(o: OverviewPage, name: string, arg: string): void {
  const n = o.nodeFor(arg);
  if (!n) return o.host.say(arg ? `no node '${arg}'` : 'no node selected', true);
  o.host.openScreen(name, '', n.name);
}

function openDetail(o: OverviewPage): void {
  if (o.focus === 'nodes') {
    const n = o.selectedNode();
    if (n) o.openNode(n);
    return;
  }
  const vm = o.selectedVm();
  if (vm) o.openVm(vm);
  else o.host.say('no VM selected', true);
}

/** `/`: the table narrows with every key typed (as in k9s); Esc puts the old filter back. */
function startFilter(o: OverviewPage): void {
  const before = o.filter;
  o.host.prompt('/', o.filter, (t) => o.setFilter(t), { change: (t) => o.setFilter(t), cancel: () => o.setFilter(before) });
}
