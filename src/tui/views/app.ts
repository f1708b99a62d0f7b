/**
 * The dashboard: a blessed screen that draws the store and turns keys into
 * commands. Redraws are coalesced: data changes mark the screen dirty and one
 * timer tick draws them; a key draws at once so typing never waits for data.
 */
import { api, type AgentEvent } from '../../api/index.js';
import blessed from 'blessed';
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Link } from '../store/link.js';
import { ClusterStore } from '../store/store.js';
import { NodePoller } from '../store/poller.js';
import type { VmRecord } from '../store/model.js';
import { CommandCenter } from '../commands/index.js';
import { detectGlyphs, type Glyphs } from '../format/chart.js';
import { cell, escapeTags } from '../format/text.js';
import { themeFromEnv, type Theme } from './theme.js';
import { CONSOLE_ESCAPE, ConsoleSession } from './console.js';
import { inputKey, keyName, type InputLine, type KeyEvent } from './keys.js';
import { ConfirmDialog, DIALOG_HELP } from './dialogs.js';
import { unavailableLines } from './unsupported.js';
import { bind, findCommandIn, findKey, footerHints, helpLines, type Binding, type Bound, type HelpSection } from '../keymap.js';
import { ManageScreens, SCREEN_HELP } from '../screens/index.js';
import { OVERVIEW, OverviewPage } from './overview.js';
import { HelpPage, TasksPage, VIEW_HELP, VmPage, WallPage } from './pages.js';
import { PageStack, type AppHost, type Page, type PromptOptions } from './page.js';
import { BALANCE, BalancePage, balanceCommand } from './balance.js';
import { BalanceCenter } from '../commands/balance.js';
import { EventLog } from '../store/events.js';
import { EVENTS, EventsPage, eventsCommand } from './events.js';
import { Level1Center } from '../store/level1.js';
import { DisplayCenter } from '../store/displays.js';
import { longJobs, type LongJob } from '../store/tasks.js';
import { DISPLAY, DisplayPage } from './display.js';
import type { PassphraseBroker } from './passphrase.js';

/** Up to this many nodes, each keeps its events long-poll even off screen (see liveEvents). */
const LIVE_EVENTS_NODES = 20;

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
  /** A node's labels from the cluster file (maintenance). */
  nodeLabels?(node: string): readonly string[] | undefined;
}

type Box = blessed.Widgets.BoxElement;

/** How long a status message stays (errors longer); it also goes when its screen does. */
const STATUS_MS = 8000;
const STATUS_ERROR_MS = 20000;

/** Keys and commands of every screen: the stack's top page first, then these (`?` and `:` lead the footer). */
export const GLOBAL: readonly Binding<Dashboard>[] = [
  { keys: ['?'], help: 'this help: every key and command of every screen', hint: 'help', command: 'help', run: (d) => d.push(new HelpPage(d)) },
  { keys: [':'], help: 'command line (:vm NAME, :node NAME, :migrate, :balance, ...)', hint: 'command', run: (d) => d.prompt(':', '', (t) => d.runCommand(t)) },
  { keys: ['escape'], help: 'close the screen or dialog on top', hint: 'back', when: (d) => d.stack.top !== d.overview, run: (d) => d.pop(d.stack.top) },
  { keys: ['q'], help: 'quit (on another screen: back to the one below)', hint: 'quit', command: 'quit', run: (d) => (d.stack.top === d.overview || d.viaCommand ? d.quit(0) : d.pop(d.stack.top)) },
  { keys: ['C-c'], help: 'quit at once', run: (d) => d.quit(0) },
  { keys: ['w'], help: 'wall mode: the whole cluster at a glance, no keys needed', hint: 'wall', command: 'wall', run: (d) => d.push(new WallPage(d)) },
  { keys: ['t'], help: 'tasks: progress and results of migrations, clones, provisioning (with its steps) and bulk actions', command: 'tasks', run: (d) => d.showTasks() },
  { keys: ['A'], help: 'toggle ASCII charts (for terminals without braille)', run: (d) => d.toggleGlyphs() },
  { keys: ['L'], help: 'cluster event log, newest first (:events [WORDS] filters; / in the log filters as you type; :events export FILE writes it as JSON lines)', command: 'events', args: '[WORDS|export FILE]', run: (d, arg) => eventsCommand(d, arg ?? '', (f) => d.openEvents(f)) },
  { keys: ['V'], help: "VNC/SPICE display of the selected VM: a loopback port forwarded through its node's SSH link, a viewer command to copy ($VEM_VNC_VIEWER is started when set); closing the view ends the forward", command: 'vnc', args: '[VM]', run: (d, arg) => d.openDisplay(arg ?? '') },
  { keys: [], help: "templates of a node, or of every node: c makes a VM from the selected one (the create form with it chosen)", command: 'templates', args: '[NODE]', run: (d, arg) => void d.openScreen('templates', arg ?? '') },
  { keys: ['B'], help: 'balance (level 2): imbalance, recommended moves, automatic mode (:balance apply, :balance auto on|off [SECONDS])', command: 'balance', args: '[apply|auto on|off]', run: (d, arg) => balanceCommand(d, d.balance, arg, () => d.openBalance()) },
];

/** Every screen's table, in the order `?` shows them. */
export function helpSections(): HelpSection[] {
  return [{ title: 'Everywhere', bindings: GLOBAL }, { title: 'Overview: node list and VM table', bindings: OVERVIEW }, ...VIEW_HELP, { title: 'Events (L, :events)', bindings: EVENTS }, { title: 'Balance (B, :balance)', bindings: BALANCE }, { title: 'Display (V, :vnc)', bindings: DISPLAY }, ...SCREEN_HELP, ...DIALOG_HELP];
}

/** The `?` screen's text, generated from the tables. */
export function helpText(): string[] {
  return [
    ...helpLines(helpSections()),
    'Console',
    '  C-]            leave the console, back to the dashboard',
    'Input line: Enter accepts, Esc cancels, Backspace and Ctrl-U edit; a suggested value is replaced by what you type',
  ];
}

export class Dashboard implements AppHost {
  readonly store = new ClusterStore();
  readonly pollers = new Map<string, NodePoller>();
  readonly links = new Map<string, Link>();
  readonly cmd: CommandCenter;
  /** Level 2 from the dashboard: the balancer's plan over the store, automatic mode. */
  readonly balance: BalanceCenter;
  /** The session's cluster event log (:events). */
  readonly events = new EventLog();
  /** Each node's level-1 state, read while its node view shows. */
  readonly level1 = new Level1Center((n) => this.links.get(n), () => (this.dirty = true));
  /** The display forwards the admin opened (V), each ended when its view closes. */
  readonly displays: DisplayCenter;
  /** The management screens (storage, networks, guest, create, edit, XML, delete). */
  readonly screens: ManageScreens;
  readonly screen: blessed.Widgets.Screen;
  readonly overview: OverviewPage;
  readonly stack: PageStack;
  theme: Theme;
  glyphs: Glyphs;
  input: InputLine | undefined;
  console: { session: ConsoleSession; full: boolean } | undefined;
  /** True while a `:` command runs (`:q` quits from any screen). */
  viaCommand = false;
  private dirty = true;
  /** How long blessed's screen.render() (diff and terminal writes) took last time. */
  lastRenderMs = 0;
  private readonly contents = new Map<Box, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly boxes: Record<'full' | 'status' | 'bottom' | 'dialog' | 'console', Box>;
  /** Boxes for pages that draw several panes (the overview), reused in order. */
  private readonly paneBoxes: Box[] = [];
  private done: ((code: number) => void) | undefined;
  private readonly traceFile: string | undefined;
  private readonly global: Bound[];
  /** The status message as last seen: which page it belongs to and when it came. */
  private statusSeen = { text: '', page: undefined as Page | undefined, at: 0 };
  readonly frozen: boolean;

  constructor(readonly o: DashboardOptions) {
    const env = o.env ?? process.env;
    this.theme = themeFromEnv(env);
    this.glyphs = detectGlyphs(env);
    this.frozen = o.frozen ?? false;
    this.traceFile = env['VEM_TUI_TRACE'] || undefined;
    this.displays = new DisplayCenter((n) => this.links.get(n), env, () => (this.dirty = true));
    this.overview = new OverviewPage(this);
    this.stack = new PageStack(this.overview);
    this.global = bind(this, GLOBAL);
    for (const l of o.links) {
      this.links.set(l.name, l);
      this.pollers.set(l.name, new NodePoller(l, this.store, { refreshMs: o.refreshMs ?? 1000, frozen: this.frozen, watched: () => this.watches(l.name), nodeWatched: () => this.watchesNode(l.name), sort: () => this.rankingSort(), rankMark: () => this.rankMark(l.name), onEvents: (ev) => this.onAgentEvents(l.name, ev), liveEvents: () => this.liveEvents() }));
      l.on('state', (st, detail) => this.events.add({ at: Date.now(), node: l.name, source: 'link', kind: st, text: detail ?? '' }));
    }
    this.cmd = new CommandCenter({
      store: this.store,
      link: (n) => this.links.get(n),
      invalidate: (n) => this.pollers.get(n)?.invalidate(),
      ...(o.nodeConfig ? { nodeConfig: o.nodeConfig } : {}),
    });
    this.balance = new BalanceCenter(this.store, this.cmd, o.nodeLabels ? { labels: (n) => o.nodeLabels?.(n) } : {});
    this.balance.onChange(() => (this.dirty = true));
    this.balance.onDecision((d) => this.events.add({ at: d.at, node: '-', source: 'level2', kind: d.taken ? 'taken' : 'declined', text: d.text }));
    this.overview.headerExtra = () => (this.balance.auto ? 'AUTO-BALANCE' : '');
    this.screens = new ManageScreens({
      theme: () => this.theme,
      store: this.store,
      link: (n) => this.links.get(n),
      invalidate: (n) => this.pollers.get(n)?.invalidate(),
      say: (t, e) => this.say(t, e),
      confirm: (lines, yes) => this.confirm(lines, yes),
      prompt: (prompt, buf, submit, o) => this.prompt(prompt, buf, submit, o),
      markDirty: () => (this.dirty = true),
      runEditor: (file) => this.runEditor(file),
      selectedVm: () => this.overview.selectedVm(),
      selectedNode: () => (this.overview.focus === 'nodes' ? this.overview.selectedNode()?.name : undefined),
      stack: { push: (s) => this.push(s), pop: (s) => this.pop(s), top: () => this.stack.top },
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
    this.boxes = {
      full: this.mk({ hidden: true }),
      status: this.mk(),
      bottom: this.mk(),
      console: this.mk({ hidden: true, border: { type: 'line' } }),
      dialog: this.mk({ hidden: true, border: { type: 'line' } }),
    };
    // A link that changes state says so in the status line too (the node list may be scrolled or narrow).
    for (const l of o.links) {
      l.on('state', (s, detail) => {
        if (s === 'up') {
          if (this.cmd.statusIsError && this.cmd.status.startsWith(`node ${l.name} `)) this.say(`node ${l.name} up`);
        } else if (s !== 'connecting') {
          // An unknown key: the fingerprint first, so a narrow status line still shows what to check.
          const k = s === 'hostkey-unknown' ? l.pendingHostKey : undefined;
          const why = k ? `new host key ${k.keyType} ${k.fingerprint}` : detail;
          this.say(`node ${l.name} ${s}${why ? `: ${why}` : ''}${linkHint(s)}`, true);
        }
      });
    }
    // An encrypted key's passphrase is typed in the input line, hidden; Esc gives up on that key.
    o.passphrases?.attach(
      (path, attempt) =>
        new Promise((resolve) => {
          this.prompt(`passphrase for ${path}${attempt > 1 ? ` (wrong; try ${attempt} of 3)` : ''} (hidden, Esc skips): `, '', (t) => resolve(t), { secret: true, cancel: () => resolve(undefined) });
        }),
    );
    this.store.onChange(() => (this.dirty = true));
    this.cmd.onChange(() => (this.dirty = true));
    this.screen.on('keypress', (ch: string | undefined, key: KeyEvent | undefined) => this.onKey(ch, key));
    this.screen.on('resize', () => this.draw());
  }

  private mk(opts: blessed.Widgets.BoxOptions = {}): Box {
    return blessed.box({ parent: this.screen, tags: true, wrap: false, top: 0, left: 0, width: 1, height: 1, ...opts });
  }

  // --- AppHost: what pages may ask of the dashboard ---

  get selection(): OverviewPage {
    return this.overview;
  }

  push(p: Page): void {
    this.stack.push(p);
    this.dirty = true;
  }

  pop(p: Page): void {
    this.stack.pop(p);
    this.dirty = true;
  }

  home(): void {
    this.stack.home();
    this.dirty = true;
  }

  say(text: string, isError = false): void {
    this.cmd.say(text, isError);
  }

  confirm(lines: string[], yes: () => void): void {
    this.push(new ConfirmDialog(this, lines, yes));
  }

  prompt(prompt: string, initial: string, submit: (text: string) => void, o: PromptOptions = {}): void {
    this.input = { prompt, buf: initial, submit, ...o };
    this.dirty = true;
  }

  toggleGlyphs(): void {
    this.glyphs = this.glyphs === 'unicode' ? 'ascii' : 'unicode';
    this.say(`charts: ${this.glyphs}`);
  }

  link(node: string): Link | undefined {
    return this.links.get(node);
  }

  backfill(vm: VmRecord): void {
    void this.pollers.get(vm.node)?.backfill(vm.name);
  }

  openScreen(name: string, arg: string, node?: string): boolean {
    return this.screens.openByName(name, arg, node);
  }

  /** The balance view: the one on the stack, else a new one on top. */
  openBalance(): BalancePage {
    const open = this.stack.find((p): p is BalancePage => p instanceof BalancePage);
    if (open) {
      const above = this.stack.all[this.stack.all.indexOf(open) + 1];
      if (above) this.pop(above);
      return open;
    }
    const p = new BalancePage(this, this.balance);
    this.push(p);
    return p;
  }

  /** The event log: the one on the stack, else a new one on top. */
  openEvents(filter = ''): void {
    const open = this.stack.find((p): p is EventsPage => p instanceof EventsPage);
    if (open) {
      const above = this.stack.all[this.stack.all.indexOf(open) + 1];
      if (above) this.pop(above);
      open.filter = filter || open.filter;
      return;
    }
    const p = new EventsPage(this, this.events);
    p.filter = filter;
    this.push(p);
  }

  /** The display of the VM named, else of the VM view's VM, else of the selected one. */
  openDisplay(name = ''): void {
    const top = this.stack.base;
    const vm = name ? [...this.store.vms.values()].find((v) => v.name === name) : top instanceof VmPage ? top.vm() : this.overview.selectedVm();
    if (!vm) return this.say(name ? `no VM named ${name}` : 'select a VM first (or :vnc VM)', true);
    this.push(new DisplayPage(this, this.displays, vm));
  }

  /** A node's events: the event log, and the management screens (provisioning started elsewhere, :templates). */
  private onAgentEvents(node: string, ev: readonly AgentEvent[]): void {
    this.events.addAgent(node, ev);
    this.screens.onAgentEvents(node, ev);
  }

  longJobs(): LongJob[] {
    return longJobs(this.cmd.migrations.values(), this.screens.manage.clones.values(), this.screens.manage.provisions.values());
  }

  cancelJob(j: LongJob): void {
    const m = j.kind === 'migration' ? this.cmd.migrations.get(j.vmKey) : undefined;
    if (m) return void this.cmd.cancelMigration(m);
    this.screens.cmds.call(j.node, api.job.cancel.name, j.job).then(
      () => this.say(`cancelling ${j.label} (the copies made are removed)`),
      (e: unknown) => this.say(`cancel ${j.label}: ${e instanceof Error ? e.message : String(e)}`, true),
    );
  }

  showTasks(): void {
    const t = this.stack.top;
    if (t instanceof TasksPage) return this.pop(t);
    this.push(new TasksPage(this));
  }

  helpText(): string[] {
    const vm = this.selection.selectedVm();
    return [...unavailableLines(vm, vm ? this.store.nodes.get(vm.node) : undefined), ...helpText()];
  }

  /**
   * `:` commands: the top page's, then the overview's (acting on its selection),
   * then the global ones; all are bindings with a command name.
   */
  runCommand(text: string): void {
    const [word = '', ...rest] = text.split(/\s+/);
    if (!word) return;
    const arg = rest.join(' ');
    const top = this.stack.top;
    const own = top !== this.overview ? findCommandIn(top.bindings(), word) : undefined;
    const b = own ?? findCommandIn(this.overview.bindings(), word) ?? findCommandIn(this.global, word);
    if (!b) return this.say(`unknown command :${word} (? lists them)`, true);
    // A command of the overview runs from the overview, as if typed there.
    if (!own && b.command !== 'help' && this.overview.bindings().includes(b)) this.home();
    this.viaCommand = true;
    try {
      b.run(arg);
    } finally {
      this.viaCommand = false;
    }
  }

  /** Start polling and drawing; resolves with the exit code when the admin quits. */
  run(): Promise<number> {
    for (const p of this.pollers.values()) p.start();
    this.timer = setInterval(() => {
      if (this.dirty || this.stack.base.fullTerminal || this.statusExpired()) this.draw();
    }, this.o.refreshMs ?? 1000);
    this.draw();
    return new Promise((resolve) => (this.done = resolve));
  }

  quit(code = 0): void {
    if (this.timer) clearInterval(this.timer);
    this.input?.cancel?.();
    this.o.passphrases?.close();
    this.stack.closeAll();
    this.displays.closeAll();
    this.balance.close();
    for (const p of this.pollers.values()) p.stop();
    this.console?.session.close();
    this.screen.destroy();
    const done = this.done;
    this.done = undefined;
    done?.(code);
  }

  /**
   * Every how many ticks a node's VMs refresh: each tick when they are on screen
   * (or the view is about that node), every 2 for wall mode's busiest VMs, every 10
   * otherwise: rows off screen, or a table sorted by a figure that none of the
   * node's rows reaches (its long-poll wakes it when one climbs past the screen's
   * last row: rankMark). A node neither of whose VMs nor row is shown, and on which
   * no ranking waits, is asked every 30 ticks in one request with its events, unless
   * liveEvents() keeps its long-poll.
   */
  watches(node: string): number {
    return this.stack.base.watches?.(node) ?? 10;
  }

  /** The overview's sort key for the pollers: a reversed order shows each node's lowest rows, which no top-rows ranking gives. */
  rankingSort(): string {
    return this.overview.reverse ? 'name' : this.overview.sortKey;
  }

  /** The last row of the overview's sorted table, for a node none of whose rows it shows (see NodePoller's rankMark). */
  rankMark(node: string): VmRecord | undefined {
    const o = this.overview;
    if (this.stack.base !== o || o.visibleNodes.has(node)) return undefined;
    return o.rankMark;
  }

  /**
   * Whether every node keeps its events long-poll (state changes at once) even off screen: on a
   * cluster of up to LIVE_EVENTS_NODES nodes (a held request each costs next to nothing), and
   * while the events log or the tasks view (which follows jobs from events) is open.
   */
  liveEvents(): boolean {
    const id = this.stack.base.id;
    return this.pollers.size <= LIVE_EVENTS_NODES || id === 'events' || id === 'tasks';
  }

  watchesNode(node: string): boolean {
    const base = this.stack.base;
    if (base.fullTerminal || base.id === 'node' || base.id === 'balance') return true;
    const o = this.overview;
    return o.visibleNodeRows.size === 0 || o.visibleNodeRows.has(node) || o.selectedVm()?.node === node;
  }

  markDirty(): void {
    this.dirty = true;
  }

  private onKey(ch: string | undefined, key: KeyEvent | undefined): void {
    const t0 = performance.now();
    try {
      this.handleKey(ch, key ?? {});
    } catch (e) {
      this.say(e instanceof Error ? e.message : String(e), true);
    }
    if (this.done === undefined) return;
    const t1 = performance.now();
    this.draw(true);
    // Trace line: whole key handling, then the redraw part of it (ms).
    if (this.traceFile) appendFileSync(this.traceFile, `${(performance.now() - t0).toFixed(3)} ${(performance.now() - t1).toFixed(3)} ${this.lastRenderMs.toFixed(3)}\n`);
  }

  /** Console first (keys go to the guest), then the input line, then the top page's bindings, then the global ones. */
  private handleKey(ch: string | undefined, key: KeyEvent): void {
    const c = this.console;
    if (c) {
      const seq = key.sequence ?? ch ?? '';
      if (key.name === 'enter' && seq === '\r') return; // the duplicate of 'return'
      if (seq === CONSOLE_ESCAPE) return this.closeConsole();
      if (c.session.closed) return;
      if (seq) c.session.send(seq);
      return;
    }
    const k = keyName(ch, key);
    if (k === '') return;
    const inp = this.input;
    if (inp) {
      const r = inputKey(inp, k, ch);
      if (r === 'cancel') {
        this.input = undefined;
        inp.cancel?.();
      } else if (r === 'submit') {
        this.input = undefined;
        inp.submit(inp.secret ? inp.buf : inp.buf.trim());
      }
      return;
    }
    if (k === 'C-c') return this.quit(0);
    const top = this.stack.top;
    const b = findKey(top.bindings(), k);
    if (b) return b.run();
    if (top.fallback?.(k)) return;
    if (top.dialog) return;
    findKey(this.global, k)?.run();
  }

  async openConsole(vm: VmRecord, full: boolean, force = false): Promise<void> {
    const link = this.links.get(vm.node);
    if (!link) return this.say(`no link to ${vm.node}`, true);
    this.say(`console: connecting to ${vm.name}...`);
    try {
      const stream = await link.openConsole(vm.name, force ? { force: true } : undefined);
      const { cols, rows } = this.consoleSize(full);
      const session = new ConsoleSession(vm.name, stream, cols, rows);
      session.onChange(() => (this.dirty = true));
      this.console?.session.close();
      this.console = { session, full };
      this.say(`console ${vm.name} on ${vm.node}: Ctrl-] returns`);
      // A fresh prompt, so the admin sees the guest is there.
      session.send('\r');
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // Someone else holds it (another admin, a virsh console): offer to take it over, as virsh console --force does.
      if (!force && /in use by|active console session/i.test(msg)) {
        this.confirm([`The console of ${vm.name} is in use:`, msg.replace(/^(HTTP 409: )?(console of \S+: )?/, ''), 'Take it over? The other session is ended.'], () => void this.openConsole(vm, full, true));
      } else this.say(`console ${vm.name}: ${msg}`, true);
    }
    this.draw();
  }

  closeConsole(): void {
    if (!this.console) return;
    this.console.session.close();
    this.console = undefined;
    this.say('console closed');
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

  /** The status message follows its screen: shown while the page that was on top when it came is, and for a while. */
  private statusText(): { text: string; error: boolean } | undefined {
    const s = this.cmd.status;
    if (!s) return undefined;
    const top = this.stack.base;
    if (s !== this.statusSeen.text) this.statusSeen = { text: s, page: top, at: Date.now() };
    if (this.statusSeen.page !== top && this.stack.all.includes(this.statusSeen.page as Page)) return undefined;
    if (this.statusSeen.page !== top) this.statusSeen.page = top;
    if (!this.frozen && Date.now() - this.statusSeen.at > (this.cmd.statusIsError ? STATUS_ERROR_MS : STATUS_MS)) return undefined;
    return { text: s, error: this.cmd.statusIsError };
  }

  private statusExpired(): boolean {
    const s = this.statusSeen;
    return s.text !== '' && !this.frozen && this.contents.get(this.boxes.status) !== '' && Date.now() - s.at > (this.cmd.statusIsError ? STATUS_ERROR_MS : STATUS_MS);
  }

  draw(fromKey = false): void {
    if (this.done === undefined && this.timer === undefined) return;
    if (!fromKey) this.dirty = false;
    const W = this.screen.width as number;
    const H = this.screen.height as number;
    const b = this.boxes;
    this.overview.refreshRows(!fromKey);
    const base = this.stack.base;
    if (base.fullTerminal) {
      for (const x of [...Object.values(b), ...this.paneBoxes]) if (x !== b.full) x.hide();
      this.place(b.full, 0, 0, W, H, base.lines(W, H));
      this.drawDialogs(W, H);
      this.screen.render();
      return;
    }
    const panes = base.panes ? base.panes(W, H - 2) : [{ top: 0, left: 0, width: W, height: H - 2, lines: base.lines(W, H - 2) }];
    panes.forEach((p, i) => {
      const box = this.paneBoxes[i] ?? this.paneBoxes[this.paneBoxes.push(this.mk()) - 1];
      if (box) this.place(box, p.top, p.left, p.width, p.height, p.lines);
    });
    for (const x of this.paneBoxes.slice(panes.length)) x.hide();
    b.full.hide();
    this.drawConsole(W, H);
    this.drawDialogs(W, H);
    const st = this.statusText();
    const status = st ? escapeTags(cell(st.text, W)) : '';
    this.place(b.status, H - 2, 0, W, 1, [st?.error ? this.theme.bad(status) : status]);
    const top = this.stack.top;
    const hints = this.console ? 'console: keys go to the guest  Ctrl-] back to the dashboard' : footerHints(top.dialog ? top.bindings() : [...this.global.slice(0, 2), ...top.bindings(), ...this.global.slice(2)], W);
    const typed = this.input?.secret ? '' : this.input?.buf ?? '';
    const bottom = this.input ? escapeTags(cell(this.input.prompt + typed, W - 1)) + (this.input.suggested ? '  {inverse}(type to replace){/inverse}' : '{inverse} {/inverse}') : this.theme.dim(escapeTags(hints));
    this.place(b.bottom, H - 1, 0, W, 1, [bottom]);
    const r0 = performance.now();
    this.screen.render();
    this.lastRenderMs = performance.now() - r0;
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

  /** The topmost dialog, in a box over the page below it. */
  private drawDialogs(W: number, H: number): void {
    const d = this.stack.dialogs.at(-1);
    if (!d) {
      this.boxes.dialog.hide();
      return;
    }
    const width = Math.min(W - 2, 96);
    const lines = d.lines(width - 2, H - 4);
    const height = Math.min(H - 2, lines.length + 2);
    this.place(this.boxes.dialog, Math.max(0, Math.floor((H - height) / 2)), Math.floor((W - width) / 2), width, height, lines);
    this.boxes.dialog.setFront();
  }
}

export async function runDashboard(o: DashboardOptions): Promise<number> {
  const d = new Dashboard(o);
  const code = await d.run();
  // Automatic balancing's lease goes back to the agents before the links close.
  await d.balance.released();
  return code;
}

/** What the admin can do about a link state, from the dashboard. */
export function linkHint(s: string): string {
  if (s === 'hostkey-unknown') return '  (check it; :trust or T on the node list)';
  if (s === 'auth-failed') return '  (fix the key or agent, then :reconnect or R on the node list)';
  return '';
}
