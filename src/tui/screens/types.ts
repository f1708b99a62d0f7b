/**
 * The contract between a management screen and the dashboard: the screen draws
 * lines from the store and declares its bindings (keymap.ts) whose handlers
 * send commands; the dashboard gives it confirmations, a prompt and the status
 * line through ScreenHost. Screens never call the network.
 */
import type { Theme } from '../views/theme.js';
import type { ManageStore } from '../store/manage.js';
import type { ManageCommands } from '../commands/manage.js';
import type { ClusterStore } from '../store/store.js';
import { bind, findKey, type Binding, type Bound } from '../keymap.js';
import type { Page } from '../views/page.js';

export interface ScreenHost {
  readonly theme: Theme;
  readonly store: ClusterStore;
  readonly manage: ManageStore;
  readonly cmds: ManageCommands;
  say(text: string, isError?: boolean): void;
  /** A yes/no dialog; `yes` runs on y/enter. */
  confirm(lines: string[], yes: () => void): void;
  /** The one-line input at the bottom, prefilled with `initial`; `secret`: typed text is not shown (a password). */
  prompt(prompt: string, initial: string, submit: (text: string) => void, o?: { secret?: boolean }): void;
  /** Leave the screen (it comes off the stack). */
  close(): void;
  markDirty(): void;
}

/** A management screen: a page whose keys are its table's bindings. */
export abstract class Screen implements Page {
  abstract readonly id: string;
  abstract readonly title: string;
  private bound: Bound[] | undefined;
  protected abstract table(): readonly Binding<this>[];
  bindings(): readonly Bound[] {
    return (this.bound ??= bind(this, this.table()));
  }
  abstract lines(width: number, height: number): string[];
  show(): void {}
  hide(): void {}
  /** Press a key as the dashboard would (its binding, else nothing); true when used. */
  key(k: string): boolean {
    const b = findKey(this.bindings(), k);
    if (!b) return this.fallback(k);
    b.run();
    return true;
  }
  fallback(_k: string): boolean {
    return false;
  }
}

/** A screen with one list under a cursor: the list keys move it. */
export interface Navigable {
  navigate(k: string): void;
}

/** up/down, page up/down, first/last: one binding each, declared once for every list. */
export function listKeys<P extends Navigable>(what = 'row'): Binding<P>[] {
  return [
    { keys: ['up', 'k'], help: `previous ${what}`, run: (p) => p.navigate('up') },
    { keys: ['down', 'j'], help: `next ${what}`, run: (p) => p.navigate('down') },
    { keys: ['pageup', 'C-b'], help: 'page up', run: (p) => p.navigate('pageup') },
    { keys: ['pagedown', 'C-f'], help: 'page down', run: (p) => p.navigate('pagedown') },
    { keys: ['g', 'home'], help: `first ${what}`, run: (p) => p.navigate('home') },
    { keys: ['G', 'end'], help: `last ${what}`, run: (p) => p.navigate('end') },
  ];
}

/** Cursor movement shared by the screens' lists. */
export function moveSel(sel: number, count: number, k: string, page = 10): number | undefined {
  const last = Math.max(0, count - 1);
  switch (k) {
    case 'up':
    case 'k':
      return Math.max(0, sel - 1);
    case 'down':
    case 'j':
      return Math.min(last, sel + 1);
    case 'pageup':
    case 'C-b':
      return Math.max(0, sel - page);
    case 'pagedown':
    case 'C-f':
      return Math.min(last, sel + page);
    case 'g':
    case 'home':
      return 0;
    case 'G':
    case 'end':
      return last;
  }
  return undefined;
}
