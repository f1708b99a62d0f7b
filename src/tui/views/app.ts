/**
 * The dashboard: a blessed screen that draws the store and turns keys into
 * commands. Redraws are coalesced: data changes mark the screen dirty and one
 * timer tick draws them; a key draws at once so typing never waits for data.
 */
import blessed from 'blessed';
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Link } from '../store/link.js';
import { ClusterStore } from '../store/store.js';
import { NodePoller } from '../store/poller.js';
import { totals, type NodeRecord, type VmRecord } from '../store/model.js';
import { CommandCenter } from '../commands/index.js';
import { detectGlyphs, type Glyphs } from '../format/chart.js';
import { cell, escapeTags } from '../format/text.js';
import { headerLine, nodeLines, vmLines } from './tables.js';
import { nodeDetailLines, taskLines, vmDetailLines, wallLines } from './panels.js';
import { selectRows, type SortKey } from './vmlist.js';
import { themeFromEnv, type Theme } from './theme.js';
import { ConsoleSession } from './console.js';
import { handleKey, type KeyEvent } from './keys.js';
import { dialogLines, type Dialog } from './dialogs.js';
import { helpLines } from '../keymap.js';
import { ManageScreens } from '../screens/index.js';
import type { PassphraseBroker } from './passphrase.js';

export interface DashboardOptions {
  links: Link[];
  refreshMs?: number;
  /** Deterministic screens for fixtures: metrics stop after the first refresh, no clock. */
  frozen?: boolean;
  wall?: boolean;
  env?: NodeJS.ProcessEnv;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Where the links' passphrase questions wait for the dashboard's input line. */
  passphrases?: PassphraseBroker;
  /** What the cluster file says of each node (migrate-uri, SSH host), for migrations. */
  nodeConfig?(node: string): { migrateUri?: string; sshHost?: string } | undefined;
}

export type ViewMode = 'overview' | 'vm' | 'node' | 'wall' | 'help' | 'tasks';

export interface InputLine {
  prompt: string;
  buf: string;
  submit(text: string): void;
  /** Typed text is not shown and not trimmed (a passphrase). */
  secret?: boolean;
  /** Esc: the question is dropped (a passphrase not given). */
  cancel?(): void;
}

type Box = blessed.Widgets.BoxElement;

export class Dashboard {
  readonly store = new ClusterStore();
  readonly pollers = new Map<string, NodePoller>();
  readonly links = new Map<string, Link>();
  readonly cmd: CommandCenter;
  /** The management screens (storage, networks, guest, create, edit, XML, delete). */
  readonly screens: ManageScreens;
  readonly screen: blessed.Widgets.Screen;
  theme: Theme;
  glyphs: Glyphs;
  view: ViewMode = 'overview';
  focus: 'vms' | 'nodes' = 'vms';
  selVm = '';
  selNode = '';
  vmTop = 0;
  nodeTop = 0;
  filter = '';
  sortKey: SortKey = 'name';
  reverse = false;
  readonly marks = new Set<string>();
  dialog: Dialog | undefined;
  input: InputLine | undefined;
  console: { session: ConsoleSession; full: boolean } | undefined;
  helpTop = 0;
  readonly helpLines: string[] = helpLines();
  /** Rows of the VM table as last drawn (filter and sort applied). */
  rows: VmRecord[] = [];
  nodeRows: NodeRecord[] = [];
  private dirty = true;
  /** How long blessed's screen.render() (diff and terminal writes) took last time. */
  lastRenderMs = 0;
  private readonly contents = new Map<Box, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly boxes: Record<'header' | 'nodes' | 'vmTitle' | 'vms' | 'side' | 'full' | 'status' | 'bottom' | 'dialog' | 'console', Box>;
  private done: ((code: number) => void) | undefined;
  private readonly traceFile: string | undefined;
  readonly frozen: boolean;

  constructor(readonly o: DashboardOptions) {
    const env = o.env ?? process.env;
    this.theme = themeFromEnv(env);
    this.glyphs = detectGlyphs(env);
    this.frozen = o.frozen ?? false;
    this.traceFile = env['VEM_TUI_TRACE'] || undefined;
    if (o.wall) this.view = 'wall';
    for (const l of o.links) {
      this.links.set(l.name, l);
      this.pollers.set(l.name, new NodePoller(l, this.store, { refreshMs: o.refreshMs ?? 1000, frozen: this.frozen, watched: () => this.watches(l.name), nodeWatched: () => this.watchesNode(l.name), sort: () => this.sortKey }));
    }
    this.cmd = new CommandCenter({
      store: this.store,
      link: (n) => this.links.get(n),
      invalidate: (n) => this.pollers.get(n)?.invalidate(),
      ...(o.nodeConfig ? { nodeConfig: o.nodeConfig } : {}),
    });
    this.screens = new ManageScreens({
      theme: () => this.theme,
      store: this.store,
      link: (n) => this.links.get(n),
      invalidate: (n) => this.pollers.get(n)?.invalidate(),
      say: (t, e) => this.cmd.say(t, e),
      confirm: (lines, yes) => (this.dialog = { kind: 'confirm', lines, yes }),
      prompt: (prompt, buf, submit) => (this.input = { prompt, buf, submit }),
      markDirty: () => (this.dirty = true),
      runEditor: (file) => this.runEditor(file),
      selectedVm: () => this.selectedVm(),
      selectedNode: () => (this.focus === 'nodes' ? this.selectedNode()?.name : undefined),
    });
    this.screen = blessed.screen({
      smartCSR: true,
      fullUnicode: true,
      title: 've-manager',
      warnings: false,
      autoPadding: false,
      dockBorders: false,
      ...((o.input ? { input: o.input } : {}) as object),
      ...((o.output ? { output: o.output } : {}) as object),
    });
    // Box-drawing as Unicode (or ASCII when the terminal cannot), not the VT100
    // alternate charset: it reads right in captures, logs and odd terminals.
    (this.screen.tput as unknown as { brokenACS: boolean }).brokenACS = true;
    const mk = (opts: blessed.Widgets.BoxOptions = {}): Box => blessed.box({ parent: this.screen, tags: true, wrap: false, top: 0, left: 0, width: 1, height: 1, ...opts });
    this.boxes = {
      header: mk(),
      nodes: mk(),
      vmTitle: mk(),
      vms: mk(),
      side: mk(),
      full: mk({ hidden: true }),
      status: mk(),
      bottom: mk(),
      console: mk({ hidden: true, border: { type: 'line' } }),
      dialog: mk({ hidden: true, border: { type: 'line' } }),
    };
    // A link that changes state says so in the status line too (the node list may be scrolled or narrow).
    for (const l of o.links) {
      l.on('state', (s, detail) => {
        if (s === 'up') {
          if (this.cmd.statusIsError && this.cmd.status.startsWith(`node ${l.name} `)) this.cmd.say(`node ${l.name} up`);
        } else if (s !== 'connecting') {
          // An unknown key: the fingerprint first, so a narrow status line still shows what to check.
          const k = s === 'hostkey-unknown' ? l.pendingHostKey : undefined;
          const why = k ? `new host key ${k.keyType} ${k.fingerprint}` : detail;
          this.cmd.say(`node ${l.name} ${s}${why ? `: ${why}` : ''}${linkHint(s)}`, true);
        }
      });
    }
    // An encrypted key's passphrase is typed in the input line, hidden; Esc gives up on that key.
    o.passphrases?.attach(
      (path, attempt) =>
        new Promise((resolve) => {
          this.input = {
            prompt: `passphrase for ${path}${attempt > 1 ? ` (wrong; try ${attempt} of 3)` : ''} (hidden, Esc skips): `,
            buf: '',
            secret: true,
            submit: (t) => resolve(t),
            cancel: () => resolve(undefined),
          };
          this.dirty = true;
        }),
    );
    this.store.onChange(() => (this.dirty = true));
    this.cmd.onChange(() => (this.dirty = true));
    this.screen.on('keypress', (ch: string | undefined, key: KeyEvent | undefined) => this.onKey(ch, key));
    this.screen.on('resize', () => this.draw());
  }

  /** Start polling and drawing; resolves with the exit code when the admin quits. */
  run(): Promise<number> {
    for (const p of this.pollers.values()) p.start();
    this.timer = setInterval(() => {
      if (this.dirty || this.view === 'wall') this.draw();
    }, this.o.refreshMs ?? 1000);
    this.draw();
    return new Promise((resolve) => (this.done = resolve));
  }

  quit(code = 0): void {
    if (this.timer) clearInterval(this.timer);
    this.input?.cancel?.();
    this.o.passphrases?.close();
    this.screens.close();
    for (const p of this.pollers.values()) p.stop();
    this.console?.session.close();
    this.screen.destroy();
    this.done?.(code);
  }

  /** Nodes whose VMs are in the table's visible window (set at each draw). */
  private visibleNodes = new Set<string>();

  /**
   * Every how many ticks a node's VMs refresh: each tick when they are on screen
   * (or the view is about that node), every 2 when they only feed a ranking (the
   * table sorted by a metric, wall mode's busiest VMs), every 10 otherwise (their
   * rows are off screen; events still bring state changes at once).
   */
  watches(node: string): number {
    if (this.view === 'node') return this.selectedNode()?.name === node ? 1 : 10;
    if (this.view === 'vm') return this.selectedVm()?.node === node ? 1 : 10;
    if (this.view === 'overview' && (this.visibleNodes.size === 0 || this.visibleNodes.has(node))) return 1;
    if (this.view === 'wall' || this.view === 'tasks') return 2;
    if (this.sortKey !== 'name' && this.sortKey !== 'node' && this.sortKey !== 'state' && this.sortKey !== 'vcpus' && this.sortKey !== 'memory') return 2;
    return 10;
  }

  private visibleNodeRows = new Set<string>();

  watchesNode(node: string): boolean {
    if (this.view === 'wall' || this.view === 'node') return true;
    return this.visibleNodeRows.size === 0 || this.visibleNodeRows.has(node) || this.selectedVm()?.node === node;
  }

  markDirty(): void {
    this.dirty = true;
  }

  private onKey(ch: string | undefined, key: KeyEvent | undefined): void {
    const t0 = performance.now();
    try {
      handleKey(this, ch, key ?? {});
    } catch (e) {
      this.cmd.say(e instanceof Error ? e.message : String(e), true);
    }
    if (this.done === undefined) return;
    const t1 = performance.now();
    this.draw(true);
    // Trace line: whole key handling, then the redraw part of it (ms).
    if (this.traceFile) appendFileSync(this.traceFile, `${(performance.now() - t0).toFixed(3)} ${(performance.now() - t1).toFixed(3)} ${this.lastRenderMs.toFixed(3)}\n`);
  }

  vm(key: string): VmRecord | undefined {
    return this.store.vms.get(key);
  }

  selectedVm(): VmRecord | undefined {
    return this.store.vms.get(this.selVm) ?? this.rows[0];
  }

  selectedNode(): NodeRecord | undefined {
    return this.store.nodes.get(this.selNode) ?? this.nodeRows[0];
  }

  /** Marked VMs that still exist, else the selected one. */
  targets(): VmRecord[] {
    const marked = [...this.marks].map((k) => this.store.vms.get(k)).filter((v): v is VmRecord => v !== undefined);
    if (marked.length > 0) return marked;
    const v = this.selectedVm();
    return v ? [v] : [];
  }

  private rowsKey = '';
  private rowsVersion = 0;

  /** Filter and sort again only when the data, the filter or the sort changed (not on every key). */
  refreshRows(withData = true): void {
    // A key only re-sorts when it changed the filter or the order; new data waits for the tick.
    const version = withData || this.rowsKey === '' ? this.store.version : this.rowsVersion;
    const key = `${version}\0${this.filter}\0${this.sortKey}\0${this.reverse}`;
    if (key === this.rowsKey) return;
    this.rowsVersion = version;
    this.rowsKey = key;
    this.nodeRows = [...this.store.nodes.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    this.rows = selectRows(this.store.vms.values(), this.filter, this.sortKey, this.reverse);
    if (!this.rows.some((r) => r.key === this.selVm)) this.selVm = this.rows[0]?.key ?? '';
    if (!this.store.nodes.has(this.selNode)) this.selNode = this.nodeRows[0]?.name ?? '';
  }

  async openConsole(vm: VmRecord, full: boolean, force = false): Promise<void> {
    const link = this.links.get(vm.node);
    if (!link) return this.cmd.say(`no link to ${vm.node}`, true);
    this.cmd.say(`console: connecting to ${vm.name}...`);
    try {
      const stream = await link.openConsole(vm.name, force ? { force: true } : undefined);
      const { cols, rows } = this.consoleSize(full);
      const session = new ConsoleSession(vm.name, stream, cols, rows);
      session.onChange(() => (this.dirty = true));
      this.console?.session.close();
      this.console = { session, full };
      this.cmd.say(`console ${vm.name} on ${vm.node}: Ctrl-] returns`);
      // A fresh prompt, so the admin sees the guest is there.
      session.send('\r');
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // Someone else holds it (another admin, a virsh console): offer to take it over, as virsh console --force does.
      if (!force && /in use by|active console session/i.test(msg)) {
        this.dialog = {
          kind: 'confirm',
          lines: [`The console of ${vm.name} is in use:`, msg.replace(/^(HTTP 409: )?(console of \S+: )?/, ''), 'Take it over? The other session is ended.'],
          yes: () => void this.openConsole(vm, full, true),
        };
      } else this.cmd.say(`console ${vm.name}: ${msg}`, true);
    }
    this.draw();
  }

  closeConsole(): void {
    if (!this.console) return;
    this.console.session.close();
    this.console = undefined;
    this.cmd.say('console closed');
  }

  /** $EDITOR (else $VISUAL, else vi) on a file, with the terminal handed over until it exits. */
  private runEditor(file: string): Promise<boolean> {
    const env = this.o.env ?? process.env;
    const editor = env['EDITOR'] || env['VISUAL'] || 'vi';
    return new Promise((resolve) => {
      this.screen.exec('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { env: { ...process.env, ...env } }, (err: unknown, ok: unknown) => resolve(!err && ok === true));
    });
  }

  private consoleSize(full: boolean): { cols: number; rows: number } {
    const W = this.screen.width as number;
    const H = this.screen.height as number;
    return full ? { cols: W - 2, rows: H - 4 } : { cols: W - 2, rows: Math.max(4, Math.floor(H / 2) - 2) };
  }

  private place(b: Box, top: number, left: number, width: number, height: number, lines: string[] | null): void {
    if (lines === null || width <= 0 || height <= 0) {
      b.hide();
      return;
    }
    if (b.top !== top) b.top = top;
    if (b.left !== left) b.left = left;
    if (b.width !== width) b.width = width;
    if (b.height !== height) b.height = height;
    // Parsing tags is blessed's costly step: skip it when the text is the same.
    const text = lines.slice(0, height).join('\n');
    if (this.contents.get(b) !== text) {
      this.contents.set(b, text);
      b.setContent(text);
    }
    if (b.hidden) b.show();
  }

  draw(fromKey = false): void {
    if (this.done === undefined && this.timer === undefined) return;
    if (!fromKey) this.dirty = false;
    const W = this.screen.width as number;
    const H = this.screen.height as number;
    const b = this.boxes;
    this.refreshRows(!fromKey);
    const t = totals(this.store.nodes.values());
    const clock = this.frozen ? '' : new Date().toISOString().slice(11, 19);
    const all = Object.values(b);
    const full = (lines: string[]): void => {
      for (const x of all) if (x !== b.full && x !== b.status && x !== b.bottom && x !== b.dialog) x.hide();
      this.place(b.full, 0, 0, W, H - 2, lines);
    };
    if (this.view === 'wall') {
      for (const x of all) if (x !== b.full) x.hide();
      this.place(b.full, 0, 0, W, H, wallLines(t, this.nodeRows, [...this.store.vms.values()], W, H, this.theme, this.glyphs, clock));
      this.screen.render();
      return;
    }
    b.full.hide();
    if (this.view === 'help') full(helpScreen(this, H - 2));
    else if (this.screens.current) full(this.screens.current.lines(W, H - 2));
    else if (this.view === 'tasks') full(taskLines(this.cmd.tasks, H - 2, this.theme));
    else if (this.view === 'vm') {
      const vm = this.selectedVm();
      full(vm ? vmDetailLines(vm, this.store.nodes.get(vm.node), this.cmd.migrations.get(vm.key), W, H - 2, this.theme, this.glyphs) : ['no VM selected']);
    } else if (this.view === 'node') {
      const n = this.selectedNode();
      full(n ? nodeDetailLines(n, this.store.vmsOf(n.name), W, H - 2, this.theme, this.glyphs) : ['no node']);
    } else this.drawOverview(W, H, t, clock);
    this.drawConsole(W, H);
    this.drawDialog(W, H);
    const status = this.cmd.status ? escapeTags(cell(this.cmd.status, W)) : '';
    this.place(b.status, H - 2, 0, W, 1, [this.cmd.statusIsError ? this.theme.bad(status) : status]);
    const hints = this.console
      ? 'console: keys go to the guest  Ctrl-] back to the dashboard'
      : this.screens.current
      ? '? help  : command  Esc back (this screen\'s keys: the line above)'
      : '? help  : command  / filter  enter details  m migrate  c console  u/d/D/r/p/P start/stop/off/reboot/pause/resume  space mark  w wall  q quit';
    const typed = this.input?.secret ? '' : this.input?.buf ?? '';
    const bottom = this.input ? escapeTags(cell(this.input.prompt + typed, W - 1)) + '{inverse} {/inverse}' : this.theme.dim(escapeTags(cell(hints, W)));
    this.place(b.bottom, H - 1, 0, W, 1, [bottom]);
    const r0 = performance.now();
    this.screen.render();
    this.lastRenderMs = performance.now() - r0;
  }

  private drawOverview(W: number, H: number, t: ReturnType<typeof totals>, clock: string): void {
    const b = this.boxes;
    this.place(b.header, 0, 0, W, 1, [headerLine(t, W, this.theme, clock)]);
    const nodesH = Math.min(this.nodeRows.length + 1, Math.max(3, Math.floor((H - 5) / 3)));
    const nodeSel = Math.max(0, this.nodeRows.findIndex((n) => n.name === this.selNode));
    const nl = nodeLines({ rows: this.nodeRows, selected: nodeSel, top: this.nodeTop, focused: this.focus === 'nodes' }, W, nodesH, this.theme, this.glyphs);
    this.nodeTop = nl.top;
    this.visibleNodeRows = new Set(this.nodeRows.slice(nl.top, nl.top + nodesH - 1).map((n) => n.name));
    this.place(b.nodes, 1, 0, W, nodesH, nl.lines);
    const side = W >= 140 ? Math.min(64, Math.floor(W * 0.36)) : 0;
    const tableW = side > 0 ? W - side - 1 : W;
    const vmTop = 1 + nodesH;
    const vmH = H - 2 - vmTop - 1;
    const marked = this.marks.size > 0 ? `  marked ${this.marks.size}` : '';
    const title = `VMs ${this.rows.length} of ${this.store.vms.size}${this.filter ? `  filter "${this.filter}"` : ''}  sort ${this.sortKey}${this.reverse ? ' (reversed)' : ''}${marked}`;
    this.place(b.vmTitle, vmTop, 0, tableW, 1, [this.theme.head(escapeTags(cell(title, tableW)))]);
    const vmSel = Math.max(0, this.rows.findIndex((r) => r.key === this.selVm));
    const vl = vmLines({ rows: this.rows, selected: vmSel, top: this.vmTop, focused: this.focus === 'vms', marks: this.marks }, tableW, vmH, this.theme, this.glyphs, this.cmd.migrations);
    this.vmTop = vl.top;
    this.visibleNodes = new Set(this.rows.slice(vl.top, vl.top + vmH).map((r) => r.node));
    this.place(b.vms, vmTop + 1, 0, tableW, vmH, vl.lines);
    const vm = this.selectedVm();
    if (side > 0 && vm) this.place(b.side, vmTop, tableW + 1, side, vmH + 1, vmDetailLines(vm, this.store.nodes.get(vm.node), this.cmd.migrations.get(vm.key), side, vmH + 1, this.theme, this.glyphs).slice(0, -1));
    else b.side.hide();
  }

  private drawConsole(W: number, H: number): void {
    const c = this.console;
    if (!c) {
      this.boxes.console.hide();
      return;
    }
    const { cols, rows } = this.consoleSize(c.full);
    c.session.resize(cols, rows);
    const lines = c.session.tagged();
    if (c.session.closed) lines.push(this.theme.bad(escapeTags(`${c.session.closeReason}; Ctrl-] returns`)));
    const top = c.full ? 0 : H - 2 - (rows + 2);
    this.place(this.boxes.console, top, 0, W, rows + 2, lines);
    this.boxes.console.setLabel(` console ${c.session.vm}  (Ctrl-] returns${c.full ? '' : ', C full screen'}) `);
    this.boxes.console.setFront();
  }

  private drawDialog(W: number, H: number): void {
    const d = this.dialog;
    if (!d) {
      this.boxes.dialog.hide();
      return;
    }
    const width = Math.min(W - 2, 96);
    const lines = dialogLines(this, d, width - 2, H - 4);
    const height = Math.min(H - 2, lines.length + 2);
    this.place(this.boxes.dialog, Math.max(0, Math.floor((H - height) / 2)), Math.floor((W - width) / 2), width, height, lines);
    this.boxes.dialog.setFront();
  }
}

function helpScreen(d: Dashboard, height: number): string[] {
  return d.helpLines.slice(d.helpTop, d.helpTop + height - 1).map(escapeTags).concat(d.theme.dim('up/down scroll  Esc back'));
}

export async function runDashboard(o: DashboardOptions): Promise<number> {
  return new Dashboard(o).run();
}

/** What the admin can do about a link state, from the dashboard. */
export function linkHint(s: string): string {
  if (s === 'hostkey-unknown') return '  (check it; :trust or T on the node list)';
  if (s === 'auth-failed') return '  (fix the key or agent, then :reconnect or R on the node list)';
  return '';
}
