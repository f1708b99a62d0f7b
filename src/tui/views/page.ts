/**
 * One screen stack (k9s's page stack): the overview at the bottom, views,
 * management screens and dialogs pushed on top. Every page declares its
 * bindings (keymap.ts) and draws lines; it reaches the dashboard only through
 * the narrow host interfaces below, never through the Dashboard class.
 */
import { bind, type Binding, type Bound } from '../keymap.js';
import type { Theme } from './theme.js';
import type { Glyphs } from '../format/chart.js';
import type { ClusterStore } from '../store/store.js';
import type { NodeRecord, VmRecord } from '../store/model.js';
import type { CommandCenter } from '../commands/index.js';
import type { ManageCommands } from '../commands/manage.js';
import type { ManageStore } from '../store/manage.js';
import type { Link } from '../store/link.js';
import type { EventLog } from '../store/events.js';
import type { Level1Center } from '../store/level1.js';
import type { LongJob } from '../store/tasks.js';
import type { BalanceCenter } from '../commands/balance.js';

/** A rectangle of tagged lines; a page that draws several (the overview) returns them all. */
export interface Pane {
  top: number;
  left: number;
  width: number;
  height: number;
  lines: string[];
}

export interface Page {
  readonly id: string;
  /** Its name in `?` and the stack. */
  readonly title: string;
  bindings(): readonly Bound[];
  /** Tagged lines for the area above the status line (one pane), unless `panes` is given. */
  lines(width: number, height: number): string[];
  panes?(width: number, height: number): Pane[];
  /** A key no binding took (typing in a form field); true when used. */
  fallback?(key: string): boolean;
  /** Shown on top / taken off the stack (timers start and stop). */
  show?(): void;
  hide?(): void;
  /** A dialog: drawn in a box over the page below, and only its own keys (and Ctrl-C) work. */
  readonly dialog?: boolean;
  /** The whole terminal, no status or key line (wall mode). */
  readonly fullTerminal?: boolean;
  /** How often (every N ticks) a node's VMs refresh while this page is the one shown; undefined: the default. */
  watches?(node: string): number | undefined;
}

/** What the overview lends other pages: what the admin has selected and marked. */
export interface Selection {
  selectedVm(): VmRecord | undefined;
  selectedNode(): NodeRecord | undefined;
  /** The marked VMs that still exist, else the selected one. */
  targets(): VmRecord[];
}

export interface PromptOptions {
  /** Typed text is not shown and not trimmed (a passphrase). */
  secret?: boolean;
  /** The initial text is a suggestion: the first typed character replaces it. */
  suggested?: boolean;
  cancel?(): void;
  /** Called on every change of the text (filter as you type). */
  change?(text: string): void;
}

/** The dashboard as pages see it. */
export interface AppHost {
  readonly store: ClusterStore;
  readonly cmd: CommandCenter;
  readonly theme: Theme;
  readonly glyphs: Glyphs;
  readonly frozen: boolean;
  readonly selection: Selection;
  /** Level 2 from the dashboard: its plan, automatic mode and decisions (the wall and the balance view read it). */
  readonly balance: BalanceCenter;
  /** The session's cluster event log. */
  readonly events: EventLog;
  /** Each node's level-1 state (the node view). */
  readonly level1: Level1Center;
  /** Migrations and clones (with their volume copies), running first (the tasks view). */
  longJobs(): LongJob[];
  /** Ask the job's node to cancel it (job.cancel); the result goes to the status line. */
  cancelJob(j: LongJob): void;
  /** The management screens' commands and store (snapshot details read through them). */
  readonly screens?: { readonly cmds: ManageCommands; readonly manage: ManageStore };
  push(p: Page): void;
  /** Take `p` (and whatever is above it) off the stack. */
  pop(p: Page): void;
  /** Back to the overview. */
  home(): void;
  say(text: string, isError?: boolean): void;
  confirm(lines: string[], yes: () => void): void;
  prompt(prompt: string, initial: string, submit: (text: string) => void, o?: PromptOptions): void;
  quit(code?: number): void;
  markDirty(): void;
  toggleGlyphs(): void;
  link(node: string): Link | undefined;
  openConsole(vm: VmRecord, full: boolean): void;
  /** Fill a VM's charts from the agent's history (its detail view opened). */
  backfill(vm: VmRecord): void;
  /** Open a management screen by its command name; false when the name is not one. */
  openScreen(name: string, arg: string, node?: string): boolean;
  /** Run a `:` command line as typed. */
  runCommand(text: string): void;
  /** The `?` text: every page's bindings and every command. */
  helpText(): string[];
}

/** The stack itself: pages in order, bottom first; show/hide as they come and go. */
export class PageStack {
  private readonly pages: Page[] = [];

  constructor(bottom: Page) {
    this.pages.push(bottom);
  }

  get top(): Page {
    return this.pages[this.pages.length - 1] as Page;
  }

  get bottom(): Page {
    return this.pages[0] as Page;
  }

  get all(): readonly Page[] {
    return this.pages;
  }

  /** The page drawn full: the topmost that is not a dialog. */
  get base(): Page {
    for (let i = this.pages.length - 1; i >= 0; i--) {
      const p = this.pages[i] as Page;
      if (!p.dialog) return p;
    }
    return this.bottom;
  }

  /** The dialogs above the base, bottom first. */
  get dialogs(): Page[] {
    const i = this.pages.indexOf(this.base);
    return this.pages.slice(i + 1);
  }

  push(p: Page): void {
    this.pages.push(p);
    p.show?.();
  }

  /** Remove `p` and everything above it; the bottom page stays. */
  pop(p: Page): void {
    const i = this.pages.indexOf(p);
    if (i <= 0) return;
    for (const q of this.pages.splice(i).reverse()) q.hide?.();
  }

  home(): void {
    const second = this.pages[1];
    if (second) this.pop(second);
  }

  /** Close every page (the dashboard quits). */
  closeAll(): void {
    this.home();
    this.bottom.hide?.();
  }

  find<P extends Page>(pred: (p: Page) => p is P): P | undefined {
    for (let i = this.pages.length - 1; i >= 0; i--) {
      const p = this.pages[i] as Page;
      if (pred(p)) return p;
    }
    return undefined;
  }
}

/** A page whose bindings come from a table of its own, bound once; closing it takes it off the stack. */
export abstract class BoundPage implements Page {
  abstract readonly id: string;
  abstract readonly title: string;
  private bound: Bound[] | undefined;
  protected abstract table(): readonly Binding<this>[];
  constructor(readonly host: AppHost) {}
  bindings(): readonly Bound[] {
    return (this.bound ??= bind(this, this.table()));
  }
  abstract lines(width: number, height: number): string[];
  close(): void {
    this.host.pop(this);
  }
}
